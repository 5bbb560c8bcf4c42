from pigweight.cli import main

raise SystemExit(main())
