"""Dispositions and pause reasons per queue: the admin's routes and page, and what the desk reads."""
