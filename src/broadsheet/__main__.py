from broadsheet.cli import main

# guarded: a spawned worker process (the snapshot reader) imports this module as __mp_main__
if __name__ == "__main__":
    raise SystemExit(main())
