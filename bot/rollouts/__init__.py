"""Rolling redeploys: start (locks, launch template version, refresh), follow, cancel, roll back."""
