"""API tokens, roles, the current actor and what each actor may see."""
