from scripter.cli import main

raise SystemExit(main())
