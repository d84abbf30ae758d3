"""The release train (CONTRACT §12): one cause moving down the lineage, base → children → fleets."""
