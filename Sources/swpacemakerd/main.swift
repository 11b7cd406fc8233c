import SwpacemakerdCommand

Swpacemakerd.main()
