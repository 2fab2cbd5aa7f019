from infra.local.cloud import main

main()
