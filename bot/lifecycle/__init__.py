"""The AMI lifecycle (CONTRACT §14): which AMIs are kept, deprecated and deregistered, and never one in use."""
