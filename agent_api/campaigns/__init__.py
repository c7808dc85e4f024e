"""Campaigns in the back office: the editor and lifecycle, contact rules, the do-not-contact list."""
