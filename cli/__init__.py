"""The `lookalike` command line: one module per command family (match, gallery, backup, audit, wikidata,
cluster), over the application layer (service/), the store and the engine. `lookalike run` starts the bot."""
