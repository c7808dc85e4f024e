"""Reports: the call facts they read, the summaries kept with them, and the report engine."""
