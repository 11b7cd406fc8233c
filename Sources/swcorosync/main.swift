import SwcorosyncCommand

Swcorosync.main()
