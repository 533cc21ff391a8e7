from hubspot_postal_mail._cli import main

main()
