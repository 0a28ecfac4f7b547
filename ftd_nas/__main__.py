from ftd_nas.cli import main

raise SystemExit(main())
