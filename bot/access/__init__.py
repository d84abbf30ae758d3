"""Who may do what: the roles of `access.*`, refusing by default."""
