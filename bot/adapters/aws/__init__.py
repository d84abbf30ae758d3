"""One adapter per AWS service, AWS errors turned into domain errors."""
