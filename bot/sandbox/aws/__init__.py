"""Local AWS for the sandbox: moto plus stand-ins in the AWS wire protocol for what moto lacks."""
