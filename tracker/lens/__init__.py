"""The privacy-regulation lens: a taxonomy as data (taxonomy.py), a multi-pattern tagger
(matcher.py), money amounts (fines.py), a relevance score (relevance.py) and the `tracker tag` stage
that stores them (tag_stage.py)."""
