"""Stories: clustering (pure), its evidence rules, and the database side."""
