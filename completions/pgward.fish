# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pgward_global_optspecs
    string join \n help c/command= f/file= dry-run v/set= X/no-psqlrc A/no-align csv F/field-separator= R/record-separator= t/tuples-only x/expanded P/pset= o/output= q/quiet again= env= config= ticket= author= write-role= read-role= log-dir= no-color h/host= p/port= U/username= d/dbname= w/no-password W/password V/version
end

function __fish_pgward_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pgward_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pgward_using_subcommand
    set -l cmd (__fish_pgward_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pgward -n "__fish_pgward_needs_command" -s c -l command -d 'Run this SQL (may be repeated), then exit' -r
complete -c pgward -n "__fish_pgward_needs_command" -s f -l file -d 'Run the SQL in FILE (`-` for standard input), then exit' -r -F
complete -c pgward -n "__fish_pgward_needs_command" -s v -l set -l variable -d 'Set script variable NAME to VALUE, used as :NAME, :\'NAME\' or :"NAME" (may be repeated)' -r
complete -c pgward -n "__fish_pgward_needs_command" -s F -l field-separator -d 'Field separator for unaligned output (default: "|")' -r
complete -c pgward -n "__fish_pgward_needs_command" -s R -l record-separator -d 'Record separator for unaligned output (default: newline)' -r
complete -c pgward -n "__fish_pgward_needs_command" -s P -l pset -d 'Set printing option VAR to ARG (see \\pset)' -r
complete -c pgward -n "__fish_pgward_needs_command" -s o -l output -d 'Send query results to FILE' -r -F
complete -c pgward -n "__fish_pgward_needs_command" -l again -d 'Commit a change the ledger says was already committed here, for this reason (logged, and shown to the reviewer); `\\again REASON` does it for one COMMIT' -r
complete -c pgward -n "__fish_pgward_needs_command" -l env -d 'Named environment from the config file (e.g. prod)' -r
complete -c pgward -n "__fish_pgward_needs_command" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_needs_command" -l ticket -d 'The ticket this change belongs to (required where approval is required)' -r
complete -c pgward -n "__fish_pgward_needs_command" -l author -d 'Who is typing [default: config `author`, else the OS user]' -r
complete -c pgward -n "__fish_pgward_needs_command" -l write-role -d 'Least-privilege role that writes run as (ad-hoc environment without a config file)' -r
complete -c pgward -n "__fish_pgward_needs_command" -l read-role -d 'Role that reads run as (ad-hoc environment)' -r
complete -c pgward -n "__fish_pgward_needs_command" -l log-dir -d 'Directory of session logs [default: config `log_dir`, else $XDG_DATA_HOME/pgward/sessions]' -r -F
complete -c pgward -n "__fish_pgward_needs_command" -s h -l host -d 'Database server host or socket directory' -r
complete -c pgward -n "__fish_pgward_needs_command" -s p -l port -d 'Database server port' -r
complete -c pgward -n "__fish_pgward_needs_command" -s U -l username -d 'Database user name' -r
complete -c pgward -n "__fish_pgward_needs_command" -s d -l dbname -d 'Database name, URI or conninfo string' -r
complete -c pgward -n "__fish_pgward_needs_command" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_needs_command" -l dry-run -d 'Run every write and show its preview, then roll back: nothing is committed'
complete -c pgward -n "__fish_pgward_needs_command" -s X -l no-psqlrc -d 'Do not read the startup file ~/.pgwardrc'
complete -c pgward -n "__fish_pgward_needs_command" -s A -l no-align -d 'Unaligned table output mode'
complete -c pgward -n "__fish_pgward_needs_command" -l csv -d 'CSV (Comma-Separated Values) table output mode'
complete -c pgward -n "__fish_pgward_needs_command" -s t -l tuples-only -d 'Print rows only (no header, no footer)'
complete -c pgward -n "__fish_pgward_needs_command" -s x -l expanded -d 'Turn on expanded table output'
complete -c pgward -n "__fish_pgward_needs_command" -s q -l quiet -d 'Run quietly (no command tags, no confirmations of settings)'
complete -c pgward -n "__fish_pgward_needs_command" -l no-color -d 'No colour in output, prompt or input line (as NO_COLOR=1 does)'
complete -c pgward -n "__fish_pgward_needs_command" -s w -l no-password -d 'Never prompt for a password'
complete -c pgward -n "__fish_pgward_needs_command" -s W -l password -d 'Prompt for a password before connecting'
complete -c pgward -n "__fish_pgward_needs_command" -s V -l version -d 'Print version'
complete -c pgward -n "__fish_pgward_needs_command" -a "demo" -d 'Start a throwaway PostgreSQL cluster with a sample shop schema and open the shell on it'
complete -c pgward -n "__fish_pgward_needs_command" -a "check" -d 'Classify the statements in SQL files without connecting (for code review and CI)'
complete -c pgward -n "__fish_pgward_needs_command" -a "approver" -d 'The built-in approval service: serve it, make its key, manage reviewers and authors'
complete -c pgward -n "__fish_pgward_needs_command" -a "completions" -d 'Print shell completions for SHELL to standard output'
complete -c pgward -n "__fish_pgward_needs_command" -a "keygen" -d 'Create the operator\'s Ed25519 key that signs session logs (mode 0600) and print its public key'
complete -c pgward -n "__fish_pgward_needs_command" -a "log" -d 'Verify, show, export or list session logs'
complete -c pgward -n "__fish_pgward_needs_command" -a "replay" -d 'Run the statements of a committed change, read from its session log, in another environment'
complete -c pgward -n "__fish_pgward_needs_command" -a "undo" -d 'Undo a committed change with the undo SQL its session log stored'
complete -c pgward -n "__fish_pgward_needs_command" -a "ledger" -d 'Create or list the in-database ledger of committed changes (pgward.ledger)'
complete -c pgward -n "__fish_pgward_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s c -l command -d 'Run this SQL (may be repeated), then exit' -r
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s f -l file -d 'Run the SQL in FILE (`-` for standard input), then exit' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s v -l set -l variable -d 'Set script variable NAME to VALUE, used as :NAME, :\'NAME\' or :"NAME" (may be repeated)' -r
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s F -l field-separator -d 'Field separator for unaligned output (default: "|")' -r
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s R -l record-separator -d 'Record separator for unaligned output (default: newline)' -r
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s P -l pset -d 'Set printing option VAR to ARG (see \\pset)' -r
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s o -l output -d 'Send query results to FILE' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand demo" -l again -d 'Commit a change the ledger says was already committed here, for this reason (logged, and shown to the reviewer); `\\again REASON` does it for one COMMIT' -r
complete -c pgward -n "__fish_pgward_using_subcommand demo" -l dry-run -d 'Run every write and show its preview, then roll back: nothing is committed'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s X -l no-psqlrc -d 'Do not read the startup file ~/.pgwardrc'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s A -l no-align -d 'Unaligned table output mode'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -l csv -d 'CSV (Comma-Separated Values) table output mode'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s t -l tuples-only -d 'Print rows only (no header, no footer)'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s x -l expanded -d 'Turn on expanded table output'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s q -l quiet -d 'Run quietly (no command tags, no confirmations of settings)'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand check" -s e -l env -d 'Decide for this environment of the config file (e.g. no write_role: writes are refused)' -r
complete -c pgward -n "__fish_pgward_using_subcommand check" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand check" -l format -d 'Output format' -r -f -a "text\t'One line per statement'
json\t'The versioned JSON report (docs/check.md)'"
complete -c pgward -n "__fish_pgward_using_subcommand check" -l strict -d 'Exit 1 when any statement has a warning (e.g. an effect that survives ROLLBACK)'
complete -c pgward -n "__fish_pgward_using_subcommand check" -l no-ddl -d 'Fail a script that changes the schema'
complete -c pgward -n "__fish_pgward_using_subcommand check" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and not __fish_seen_subcommand_from serve keygen reviewer author verify help" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and not __fish_seen_subcommand_from serve keygen reviewer author verify help" -f -a "serve" -d 'Serve protocol v1, the reviewer page and the chat endpoint'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and not __fish_seen_subcommand_from serve keygen reviewer author verify help" -f -a "keygen" -d 'Write a new service key (mode 0600) and print its public key for shell configs'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and not __fish_seen_subcommand_from serve keygen reviewer author verify help" -f -a "reviewer" -d 'Add or remove a reviewer (passwords are stored as argon2 hashes)'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and not __fish_seen_subcommand_from serve keygen reviewer author verify help" -f -a "author" -d 'Add or remove an author (prints the author\'s credential; only its hash is stored)'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and not __fish_seen_subcommand_from serve keygen reviewer author verify help" -f -a "verify" -d 'Verify the decision log\'s chain and signatures'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and not __fish_seen_subcommand_from serve keygen reviewer author verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from serve" -l store -d 'PostgreSQL database for the approver\'s state (URI or conninfo; pgpass and PG* apply)' -r
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from serve" -l schema -d 'Schema for the approver\'s tables (created and migrated by the approver)' -r
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from serve" -l key -d 'The service key (made by `pgward approver keygen`)' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from serve" -l listen -d 'Address to listen on' -r
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from serve" -l public-url -d 'The address reviewers use (https:// behind a TLS proxy makes cookies Secure)' -r
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from serve" -l webhook-url -d 'Chat incoming-webhook URL to notify of new requests' -r
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from serve" -l chat-secret-env -d 'Variable holding the Slack signing secret (enables /chat/interactivity)' -r
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from serve" -l pool -d 'Pooled store connections' -r
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from serve" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from keygen" -l key -d 'Where to write the key' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from keygen" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from reviewer" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from reviewer" -f -a "add" -d 'Add NAME (or replace their password or credential)'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from reviewer" -f -a "remove" -d 'Remove NAME'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from reviewer" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from author" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from author" -f -a "add" -d 'Add NAME (or replace their password or credential)'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from author" -f -a "remove" -d 'Remove NAME'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from author" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from verify" -l store -d 'PostgreSQL database for the approver\'s state (URI or conninfo; pgpass and PG* apply)' -r
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from verify" -l schema -d 'Schema for the approver\'s tables (created and migrated by the approver)' -r
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from verify" -l key -d 'The service key' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from verify" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from help" -f -a "serve" -d 'Serve protocol v1, the reviewer page and the chat endpoint'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from help" -f -a "keygen" -d 'Write a new service key (mode 0600) and print its public key for shell configs'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from help" -f -a "reviewer" -d 'Add or remove a reviewer (passwords are stored as argon2 hashes)'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from help" -f -a "author" -d 'Add or remove an author (prints the author\'s credential; only its hash is stored)'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Verify the decision log\'s chain and signatures'
complete -c pgward -n "__fish_pgward_using_subcommand approver; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand completions" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand keygen" -l out -d 'Where to write the key [default: config `key`, else $XDG_DATA_HOME/pgward/operator.key]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand keygen" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand keygen" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand log; and not __fish_seen_subcommand_from verify show export attach list help" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand log; and not __fish_seen_subcommand_from verify show export attach list help" -f -a "verify" -d 'Check chain, signatures and ending of each FILE; exit 0 only when every log is intact'
complete -c pgward -n "__fish_pgward_using_subcommand log; and not __fish_seen_subcommand_from verify show export attach list help" -f -a "show" -d 'Print a readable summary of a session log'
complete -c pgward -n "__fish_pgward_using_subcommand log; and not __fish_seen_subcommand_from verify show export attach list help" -f -a "export" -d 'Render a session log as the ticket attachment'
complete -c pgward -n "__fish_pgward_using_subcommand log; and not __fish_seen_subcommand_from verify show export attach list help" -f -a "attach" -d 'Attach a session log to its ticket ([tickets] in the config); clears it from the pending attachments the banner lists'
complete -c pgward -n "__fish_pgward_using_subcommand log; and not __fish_seen_subcommand_from verify show export attach list help" -f -a "list" -d 'List session logs, newest first'
complete -c pgward -n "__fish_pgward_using_subcommand log; and not __fish_seen_subcommand_from verify show export attach list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from verify" -s e -l env -d 'Resolve a COMMIT without outcome with txid_status on this environment\'s database' -r
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from verify" -l key -d 'The operator public key (hex) the logs must be signed with' -r
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from verify" -l approver-key -d 'The approval service\'s public key (hex) the approval tokens must verify under [default: the `[approval] public_key` of --env, else of the log\'s environment]' -r
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from verify" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from verify" -l json -d 'Print the result as JSON'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from verify" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from show" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from export" -l format -d 'markdown or json' -r -f -a "markdown\t'Markdown, for a ticket comment'
json\t'JSON: the verified records and the verification result'"
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from export" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from attach" -s t -l ticket -d 'The ticket [default: the one the log names]' -r
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from attach" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from attach" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from list" -s t -l ticket -d 'Only sessions of this ticket' -r
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from list" -s e -l env -d 'Only sessions in this environment' -r
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from list" -l log-dir -d 'Directory of session logs [default: config `log_dir`, else $XDG_DATA_HOME/pgward/sessions]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from list" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from list" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check chain, signatures and ending of each FILE; exit 0 only when every log is intact'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print a readable summary of a session log'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "export" -d 'Render a session log as the ticket attachment'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "attach" -d 'Attach a session log to its ticket ([tickets] in the config); clears it from the pending attachments the banner lists'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "list" -d 'List session logs, newest first'
complete -c pgward -n "__fish_pgward_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand replay" -l record -d 'The change\'s commit_intent (or commit) record in that log' -r
complete -c pgward -n "__fish_pgward_using_subcommand replay" -s e -l env -d 'The environment to run it in' -r
complete -c pgward -n "__fish_pgward_using_subcommand replay" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand replay" -l ticket -d 'The ticket [default: the original\'s]' -r
complete -c pgward -n "__fish_pgward_using_subcommand replay" -l author -d 'Who is replaying [default: config `author`, else the OS user]' -r
complete -c pgward -n "__fish_pgward_using_subcommand replay" -l log-dir -d 'Directory of session logs [default: config `log_dir`, else $XDG_DATA_HOME/pgward/sessions]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand replay" -l again -d 'Commit even when the ledger here already holds this change, for this reason' -r
complete -c pgward -n "__fish_pgward_using_subcommand replay" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand undo" -l record -d 'The change\'s commit_intent (or commit) record in that log' -r
complete -c pgward -n "__fish_pgward_using_subcommand undo" -s e -l env -d 'The environment, which must be the one the change committed in [default: that one]' -r
complete -c pgward -n "__fish_pgward_using_subcommand undo" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand undo" -l ticket -d 'The ticket [default: the original\'s]' -r
complete -c pgward -n "__fish_pgward_using_subcommand undo" -l author -d 'Who is undoing [default: config `author`, else the OS user]' -r
complete -c pgward -n "__fish_pgward_using_subcommand undo" -l log-dir -d 'Directory of session logs [default: config `log_dir`, else $XDG_DATA_HOME/pgward/sessions]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand undo" -l again -d 'Commit even when the ledger already holds this undo, for this reason' -r
complete -c pgward -n "__fish_pgward_using_subcommand undo" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and not __fish_seen_subcommand_from init show help" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and not __fish_seen_subcommand_from init show help" -f -a "init" -d 'Create pgward.ledger in the environment\'s database and grant its roles what they need'
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and not __fish_seen_subcommand_from init show help" -f -a "show" -d 'List the committed changes the ledger holds, oldest first'
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and not __fish_seen_subcommand_from init show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from init" -s e -l env -d 'Named environment from the config file' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from init" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from init" -s h -l host -d 'Database server host or socket directory (overrides the environment\'s)' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from init" -s p -l port -d 'Database server port' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from init" -s U -l username -d 'Database user name (for init, a DBA role)' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from init" -s d -l dbname -d 'Database name, URI or conninfo string' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from init" -l write-role -d 'Write role (ad-hoc environment without a config file)' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from init" -l read-role -d 'Read role (ad-hoc environment)' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from init" -l print-sql -d 'Print the SQL (for a DBA to run) instead of running it'
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from init" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from show" -s e -l env -d 'Named environment from the config file' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from show" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from show" -s h -l host -d 'Database server host or socket directory (overrides the environment\'s)' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from show" -s p -l port -d 'Database server port' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from show" -s U -l username -d 'Database user name (for init, a DBA role)' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from show" -s d -l dbname -d 'Database name, URI or conninfo string' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from show" -l write-role -d 'Write role (ad-hoc environment without a config file)' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from show" -l read-role -d 'Read role (ad-hoc environment)' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from show" -s t -l ticket -d 'Only changes of this ticket' -r
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from show" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "init" -d 'Create pgward.ledger in the environment\'s database and grant its roles what they need'
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "show" -d 'List the committed changes the ledger holds, oldest first'
complete -c pgward -n "__fish_pgward_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo check approver completions keygen log replay undo ledger help" -f -a "demo" -d 'Start a throwaway PostgreSQL cluster with a sample shop schema and open the shell on it'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo check approver completions keygen log replay undo ledger help" -f -a "check" -d 'Classify the statements in SQL files without connecting (for code review and CI)'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo check approver completions keygen log replay undo ledger help" -f -a "approver" -d 'The built-in approval service: serve it, make its key, manage reviewers and authors'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo check approver completions keygen log replay undo ledger help" -f -a "completions" -d 'Print shell completions for SHELL to standard output'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo check approver completions keygen log replay undo ledger help" -f -a "keygen" -d 'Create the operator\'s Ed25519 key that signs session logs (mode 0600) and print its public key'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo check approver completions keygen log replay undo ledger help" -f -a "log" -d 'Verify, show, export or list session logs'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo check approver completions keygen log replay undo ledger help" -f -a "replay" -d 'Run the statements of a committed change, read from its session log, in another environment'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo check approver completions keygen log replay undo ledger help" -f -a "undo" -d 'Undo a committed change with the undo SQL its session log stored'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo check approver completions keygen log replay undo ledger help" -f -a "ledger" -d 'Create or list the in-database ledger of committed changes (pgward.ledger)'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo check approver completions keygen log replay undo ledger help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from approver" -f -a "serve" -d 'Serve protocol v1, the reviewer page and the chat endpoint'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from approver" -f -a "keygen" -d 'Write a new service key (mode 0600) and print its public key for shell configs'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from approver" -f -a "reviewer" -d 'Add or remove a reviewer (passwords are stored as argon2 hashes)'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from approver" -f -a "author" -d 'Add or remove an author (prints the author\'s credential; only its hash is stored)'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from approver" -f -a "verify" -d 'Verify the decision log\'s chain and signatures'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "verify" -d 'Check chain, signatures and ending of each FILE; exit 0 only when every log is intact'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "show" -d 'Print a readable summary of a session log'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "export" -d 'Render a session log as the ticket attachment'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "attach" -d 'Attach a session log to its ticket ([tickets] in the config); clears it from the pending attachments the banner lists'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "list" -d 'List session logs, newest first'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "init" -d 'Create pgward.ledger in the environment\'s database and grant its roles what they need'
complete -c pgward -n "__fish_pgward_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "show" -d 'List the committed changes the ledger holds, oldest first'
