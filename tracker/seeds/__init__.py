"""Seeds: seed files and JSON Lines imports, validated and saved."""
