#compdef pgward

autoload -U is-at-least

_pgward() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'*-c+[Run this SQL (may be repeated), then exit]:SQL:_default' \
'*--command=[Run this SQL (may be repeated), then exit]:SQL:_default' \
'(-c --command)-f+[Run the SQL in FILE (\`-\` for standard input), then exit]:FILE:_files' \
'(-c --command)--file=[Run the SQL in FILE (\`-\` for standard input), then exit]:FILE:_files' \
'*-v+[Set script variable NAME to VALUE, used as \:NAME, \:'\''NAME'\'' or \:"NAME" (may be repeated)]:NAME=VALUE:_default' \
'*--set=[Set script variable NAME to VALUE, used as \:NAME, \:'\''NAME'\'' or \:"NAME" (may be repeated)]:NAME=VALUE:_default' \
'*--variable=[Set script variable NAME to VALUE, used as \:NAME, \:'\''NAME'\'' or \:"NAME" (may be repeated)]:NAME=VALUE:_default' \
'-F+[Field separator for unaligned output (default\: "|")]:STRING:_default' \
'--field-separator=[Field separator for unaligned output (default\: "|")]:STRING:_default' \
'-R+[Record separator for unaligned output (default\: newline)]:STRING:_default' \
'--record-separator=[Record separator for unaligned output (default\: newline)]:STRING:_default' \
'*-P+[Set printing option VAR to ARG (see \\pset)]:VAR[=ARG]:_default' \
'*--pset=[Set printing option VAR to ARG (see \\pset)]:VAR[=ARG]:_default' \
'-o+[Send query results to FILE]:FILENAME:_files' \
'--output=[Send query results to FILE]:FILENAME:_files' \
'--again=[Commit a change the ledger says was already committed here, for this reason (logged, and shown to the reviewer); \`\\again REASON\` does it for one COMMIT]:REASON:_default' \
'--env=[Named environment from the config file (e.g. prod)]:NAME:_default' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'--ticket=[The ticket this change belongs to (required where approval is required)]:ID:_default' \
'--author=[Who is typing \[default\: config \`author\`, else the OS user\]]:NAME:_default' \
'--write-role=[Least-privilege role that writes run as (ad-hoc environment without a config file)]:ROLE:_default' \
'--read-role=[Role that reads run as (ad-hoc environment)]:ROLE:_default' \
'--log-dir=[Directory of session logs \[default\: config \`log_dir\`, else \$XDG_DATA_HOME/pgward/sessions\]]:DIR:_files' \
'-h+[Database server host or socket directory]:HOSTNAME:_default' \
'--host=[Database server host or socket directory]:HOSTNAME:_default' \
'-p+[Database server port]:PORT:_default' \
'--port=[Database server port]:PORT:_default' \
'-U+[Database user name]:USERNAME:_default' \
'--username=[Database user name]:USERNAME:_default' \
'-d+[Database name, URI or conninfo string]:DBNAME:_default' \
'--dbname=[Database name, URI or conninfo string]:DBNAME:_default' \
'--help[Print help]' \
'--dry-run[Run every write and show its preview, then roll back\: nothing is committed]' \
'-X[Do not read the startup file ~/.pgwardrc]' \
'--no-psqlrc[Do not read the startup file ~/.pgwardrc]' \
'-A[Unaligned table output mode]' \
'--no-align[Unaligned table output mode]' \
'--csv[CSV (Comma-Separated Values) table output mode]' \
'-t[Print rows only (no header, no footer)]' \
'--tuples-only[Print rows only (no header, no footer)]' \
'-x[Turn on expanded table output]' \
'--expanded[Turn on expanded table output]' \
'-q[Run quietly (no command tags, no confirmations of settings)]' \
'--quiet[Run quietly (no command tags, no confirmations of settings)]' \
'--no-color[No colour in output, prompt or input line (as NO_COLOR=1 does)]' \
'(-W --password)-w[Never prompt for a password]' \
'(-W --password)--no-password[Never prompt for a password]' \
'-W[Prompt for a password before connecting]' \
'--password[Prompt for a password before connecting]' \
'-V[Print version]' \
'--version[Print version]' \
'::db_arg -- Database name (as psql'\''s first argument):_default' \
'::user_arg -- User name (as psql'\''s second argument):_default' \
":: :_pgward_commands" \
"*::: :->pgward" \
&& ret=0
    case $state in
    (pgward)
        words=($line[3] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-command-$line[3]:"
        case $line[3] in
            (demo)
_arguments "${_arguments_options[@]}" : \
'*-c+[Run this SQL (may be repeated), then exit]:SQL:_default' \
'*--command=[Run this SQL (may be repeated), then exit]:SQL:_default' \
'(-c --command)-f+[Run the SQL in FILE (\`-\` for standard input), then exit]:FILE:_files' \
'(-c --command)--file=[Run the SQL in FILE (\`-\` for standard input), then exit]:FILE:_files' \
'*-v+[Set script variable NAME to VALUE, used as \:NAME, \:'\''NAME'\'' or \:"NAME" (may be repeated)]:NAME=VALUE:_default' \
'*--set=[Set script variable NAME to VALUE, used as \:NAME, \:'\''NAME'\'' or \:"NAME" (may be repeated)]:NAME=VALUE:_default' \
'*--variable=[Set script variable NAME to VALUE, used as \:NAME, \:'\''NAME'\'' or \:"NAME" (may be repeated)]:NAME=VALUE:_default' \
'-F+[Field separator for unaligned output (default\: "|")]:STRING:_default' \
'--field-separator=[Field separator for unaligned output (default\: "|")]:STRING:_default' \
'-R+[Record separator for unaligned output (default\: newline)]:STRING:_default' \
'--record-separator=[Record separator for unaligned output (default\: newline)]:STRING:_default' \
'*-P+[Set printing option VAR to ARG (see \\pset)]:VAR[=ARG]:_default' \
'*--pset=[Set printing option VAR to ARG (see \\pset)]:VAR[=ARG]:_default' \
'-o+[Send query results to FILE]:FILENAME:_files' \
'--output=[Send query results to FILE]:FILENAME:_files' \
'--again=[Commit a change the ledger says was already committed here, for this reason (logged, and shown to the reviewer); \`\\again REASON\` does it for one COMMIT]:REASON:_default' \
'--dry-run[Run every write and show its preview, then roll back\: nothing is committed]' \
'-X[Do not read the startup file ~/.pgwardrc]' \
'--no-psqlrc[Do not read the startup file ~/.pgwardrc]' \
'-A[Unaligned table output mode]' \
'--no-align[Unaligned table output mode]' \
'--csv[CSV (Comma-Separated Values) table output mode]' \
'-t[Print rows only (no header, no footer)]' \
'--tuples-only[Print rows only (no header, no footer)]' \
'-x[Turn on expanded table output]' \
'--expanded[Turn on expanded table output]' \
'-q[Run quietly (no command tags, no confirmations of settings)]' \
'--quiet[Run quietly (no command tags, no confirmations of settings)]' \
'--help[Print help]' \
&& ret=0
;;
(check)
_arguments "${_arguments_options[@]}" : \
'-e+[Decide for this environment of the config file (e.g. no write_role\: writes are refused)]:NAME:_default' \
'--env=[Decide for this environment of the config file (e.g. no write_role\: writes are refused)]:NAME:_default' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'--format=[Output format]:FORMAT:((text\:"One line per statement"
json\:"The versioned JSON report (docs/check.md)"))' \
'--strict[Exit 1 when any statement has a warning (e.g. an effect that survives ROLLBACK)]' \
'--no-ddl[Fail a script that changes the schema]' \
'--help[Print help]' \
'*::files -- SQL files to check (`-` for standard input):_files' \
&& ret=0
;;
(approver)
_arguments "${_arguments_options[@]}" : \
'--help[Print help]' \
":: :_pgward__subcmd__approver_commands" \
"*::: :->approver" \
&& ret=0

    case $state in
    (approver)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-approver-command-$line[1]:"
        case $line[1] in
            (serve)
_arguments "${_arguments_options[@]}" : \
'--store=[PostgreSQL database for the approver'\''s state (URI or conninfo; pgpass and PG* apply)]:URL:_default' \
'--schema=[Schema for the approver'\''s tables (created and migrated by the approver)]:NAME:_default' \
'--key=[The service key (made by \`pgward approver keygen\`)]:FILE:_files' \
'--listen=[Address to listen on]:ADDR:_default' \
'--public-url=[The address reviewers use (https\:// behind a TLS proxy makes cookies Secure)]:URL:_default' \
'--webhook-url=[Chat incoming-webhook URL to notify of new requests]:URL:_default' \
'--chat-secret-env=[Variable holding the Slack signing secret (enables /chat/interactivity)]:VAR:_default' \
'--pool=[Pooled store connections]:N:_default' \
'--help[Print help]' \
&& ret=0
;;
(keygen)
_arguments "${_arguments_options[@]}" : \
'--key=[Where to write the key]:FILE:_files' \
'--help[Print help]' \
&& ret=0
;;
(reviewer)
_arguments "${_arguments_options[@]}" : \
'--help[Print help]' \
":: :_pgward__subcmd__approver__subcmd__reviewer_commands" \
"*::: :->reviewer" \
&& ret=0

    case $state in
    (reviewer)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-approver-reviewer-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
'--store=[PostgreSQL database for the approver'\''s state (URI or conninfo; pgpass and PG* apply)]:URL:_default' \
'--schema=[Schema for the approver'\''s tables (created and migrated by the approver)]:NAME:_default' \
'--password-env=[Reviewers\: read the password from this variable instead of the terminal]:VAR:_default' \
'--help[Print help]' \
':name -- The name:_default' \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
'--store=[PostgreSQL database for the approver'\''s state (URI or conninfo; pgpass and PG* apply)]:URL:_default' \
'--schema=[Schema for the approver'\''s tables (created and migrated by the approver)]:NAME:_default' \
'--help[Print help]' \
':name -- The name:_default' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__approver__subcmd__reviewer__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-approver-reviewer-help-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(author)
_arguments "${_arguments_options[@]}" : \
'--help[Print help]' \
":: :_pgward__subcmd__approver__subcmd__author_commands" \
"*::: :->author" \
&& ret=0

    case $state in
    (author)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-approver-author-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
'--store=[PostgreSQL database for the approver'\''s state (URI or conninfo; pgpass and PG* apply)]:URL:_default' \
'--schema=[Schema for the approver'\''s tables (created and migrated by the approver)]:NAME:_default' \
'--password-env=[Reviewers\: read the password from this variable instead of the terminal]:VAR:_default' \
'--help[Print help]' \
':name -- The name:_default' \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
'--store=[PostgreSQL database for the approver'\''s state (URI or conninfo; pgpass and PG* apply)]:URL:_default' \
'--schema=[Schema for the approver'\''s tables (created and migrated by the approver)]:NAME:_default' \
'--help[Print help]' \
':name -- The name:_default' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__approver__subcmd__author__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-approver-author-help-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(verify)
_arguments "${_arguments_options[@]}" : \
'--store=[PostgreSQL database for the approver'\''s state (URI or conninfo; pgpass and PG* apply)]:URL:_default' \
'--schema=[Schema for the approver'\''s tables (created and migrated by the approver)]:NAME:_default' \
'--key=[The service key]:FILE:_files' \
'--help[Print help]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__approver__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-approver-help-command-$line[1]:"
        case $line[1] in
            (serve)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(keygen)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(reviewer)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__approver__subcmd__help__subcmd__reviewer_commands" \
"*::: :->reviewer" \
&& ret=0

    case $state in
    (reviewer)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-approver-help-reviewer-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(author)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__approver__subcmd__help__subcmd__author_commands" \
"*::: :->author" \
&& ret=0

    case $state in
    (author)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-approver-help-author-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(verify)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(completions)
_arguments "${_arguments_options[@]}" : \
'--help[Print help]' \
':shell -- bash, zsh, fish, elvish or powershell:(bash elvish fish powershell zsh)' \
&& ret=0
;;
(keygen)
_arguments "${_arguments_options[@]}" : \
'--out=[Where to write the key \[default\: config \`key\`, else \$XDG_DATA_HOME/pgward/operator.key\]]:FILE:_files' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'--help[Print help]' \
&& ret=0
;;
(log)
_arguments "${_arguments_options[@]}" : \
'--help[Print help]' \
":: :_pgward__subcmd__log_commands" \
"*::: :->log" \
&& ret=0

    case $state in
    (log)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-log-command-$line[1]:"
        case $line[1] in
            (verify)
_arguments "${_arguments_options[@]}" : \
'-e+[Resolve a COMMIT without outcome with txid_status on this environment'\''s database]:NAME:_default' \
'--env=[Resolve a COMMIT without outcome with txid_status on this environment'\''s database]:NAME:_default' \
'--key=[The operator public key (hex) the logs must be signed with]:HEX:_default' \
'--approver-key=[The approval service'\''s public key (hex) the approval tokens must verify under \[default\: the \`\[approval\] public_key\` of --env, else of the log'\''s environment\]]:HEX:_default' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'--json[Print the result as JSON]' \
'--help[Print help]' \
'*::files -- Session log files:_files' \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
'--help[Print help]' \
':file -- The session log:_files' \
&& ret=0
;;
(export)
_arguments "${_arguments_options[@]}" : \
'--format=[markdown or json]:FORMAT:((markdown\:"Markdown, for a ticket comment"
json\:"JSON\: the verified records and the verification result"))' \
'--help[Print help]' \
':file -- The session log:_files' \
&& ret=0
;;
(attach)
_arguments "${_arguments_options[@]}" : \
'-t+[The ticket \[default\: the one the log names\]]:ID:_default' \
'--ticket=[The ticket \[default\: the one the log names\]]:ID:_default' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'--help[Print help]' \
':file -- The session log:_files' \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
'-t+[Only sessions of this ticket]:ID:_default' \
'--ticket=[Only sessions of this ticket]:ID:_default' \
'-e+[Only sessions in this environment]:NAME:_default' \
'--env=[Only sessions in this environment]:NAME:_default' \
'--log-dir=[Directory of session logs \[default\: config \`log_dir\`, else \$XDG_DATA_HOME/pgward/sessions\]]:DIR:_files' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'--help[Print help]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__log__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-log-help-command-$line[1]:"
        case $line[1] in
            (verify)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(export)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(attach)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(replay)
_arguments "${_arguments_options[@]}" : \
'--record=[The change'\''s commit_intent (or commit) record in that log]:N:_default' \
'-e+[The environment to run it in]:NAME:_default' \
'--env=[The environment to run it in]:NAME:_default' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'--ticket=[The ticket \[default\: the original'\''s\]]:ID:_default' \
'--author=[Who is replaying \[default\: config \`author\`, else the OS user\]]:NAME:_default' \
'--log-dir=[Directory of session logs \[default\: config \`log_dir\`, else \$XDG_DATA_HOME/pgward/sessions\]]:DIR:_files' \
'--again=[Commit even when the ledger here already holds this change, for this reason]:REASON:_default' \
'--help[Print help]' \
':log -- The session log that holds the change:_files' \
&& ret=0
;;
(undo)
_arguments "${_arguments_options[@]}" : \
'--record=[The change'\''s commit_intent (or commit) record in that log]:N:_default' \
'-e+[The environment, which must be the one the change committed in \[default\: that one\]]:NAME:_default' \
'--env=[The environment, which must be the one the change committed in \[default\: that one\]]:NAME:_default' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'--ticket=[The ticket \[default\: the original'\''s\]]:ID:_default' \
'--author=[Who is undoing \[default\: config \`author\`, else the OS user\]]:NAME:_default' \
'--log-dir=[Directory of session logs \[default\: config \`log_dir\`, else \$XDG_DATA_HOME/pgward/sessions\]]:DIR:_files' \
'--again=[Commit even when the ledger already holds this undo, for this reason]:REASON:_default' \
'--help[Print help]' \
':log -- The session log that holds the change:_files' \
&& ret=0
;;
(ledger)
_arguments "${_arguments_options[@]}" : \
'--help[Print help]' \
":: :_pgward__subcmd__ledger_commands" \
"*::: :->ledger" \
&& ret=0

    case $state in
    (ledger)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-ledger-command-$line[1]:"
        case $line[1] in
            (init)
_arguments "${_arguments_options[@]}" : \
'-e+[Named environment from the config file]:NAME:_default' \
'--env=[Named environment from the config file]:NAME:_default' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'-h+[Database server host or socket directory (overrides the environment'\''s)]:HOSTNAME:_default' \
'--host=[Database server host or socket directory (overrides the environment'\''s)]:HOSTNAME:_default' \
'-p+[Database server port]:PORT:_default' \
'--port=[Database server port]:PORT:_default' \
'-U+[Database user name (for init, a DBA role)]:USERNAME:_default' \
'--username=[Database user name (for init, a DBA role)]:USERNAME:_default' \
'-d+[Database name, URI or conninfo string]:DBNAME:_default' \
'--dbname=[Database name, URI or conninfo string]:DBNAME:_default' \
'--write-role=[Write role (ad-hoc environment without a config file)]:ROLE:_default' \
'--read-role=[Read role (ad-hoc environment)]:ROLE:_default' \
'--print-sql[Print the SQL (for a DBA to run) instead of running it]' \
'--help[Print help]' \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
'-e+[Named environment from the config file]:NAME:_default' \
'--env=[Named environment from the config file]:NAME:_default' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'-h+[Database server host or socket directory (overrides the environment'\''s)]:HOSTNAME:_default' \
'--host=[Database server host or socket directory (overrides the environment'\''s)]:HOSTNAME:_default' \
'-p+[Database server port]:PORT:_default' \
'--port=[Database server port]:PORT:_default' \
'-U+[Database user name (for init, a DBA role)]:USERNAME:_default' \
'--username=[Database user name (for init, a DBA role)]:USERNAME:_default' \
'-d+[Database name, URI or conninfo string]:DBNAME:_default' \
'--dbname=[Database name, URI or conninfo string]:DBNAME:_default' \
'--write-role=[Write role (ad-hoc environment without a config file)]:ROLE:_default' \
'--read-role=[Read role (ad-hoc environment)]:ROLE:_default' \
'-t+[Only changes of this ticket]:ID:_default' \
'--ticket=[Only changes of this ticket]:ID:_default' \
'--help[Print help]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__ledger__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-ledger-help-command-$line[1]:"
        case $line[1] in
            (init)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-help-command-$line[1]:"
        case $line[1] in
            (demo)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(check)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(approver)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__help__subcmd__approver_commands" \
"*::: :->approver" \
&& ret=0

    case $state in
    (approver)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-help-approver-command-$line[1]:"
        case $line[1] in
            (serve)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(keygen)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(reviewer)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__help__subcmd__approver__subcmd__reviewer_commands" \
"*::: :->reviewer" \
&& ret=0

    case $state in
    (reviewer)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-help-approver-reviewer-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(author)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__help__subcmd__approver__subcmd__author_commands" \
"*::: :->author" \
&& ret=0

    case $state in
    (author)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-help-approver-author-command-$line[1]:"
        case $line[1] in
            (add)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(remove)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(verify)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(completions)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(keygen)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(log)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__help__subcmd__log_commands" \
"*::: :->log" \
&& ret=0

    case $state in
    (log)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-help-log-command-$line[1]:"
        case $line[1] in
            (verify)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(export)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(attach)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(replay)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(undo)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(ledger)
_arguments "${_arguments_options[@]}" : \
":: :_pgward__subcmd__help__subcmd__ledger_commands" \
"*::: :->ledger" \
&& ret=0

    case $state in
    (ledger)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:pgward-help-ledger-command-$line[1]:"
        case $line[1] in
            (init)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
}

(( $+functions[_pgward_commands] )) ||
_pgward_commands() {
    local commands; commands=(
'demo:Start a throwaway PostgreSQL cluster with a sample shop schema and open the shell on it' \
'check:Classify the statements in SQL files without connecting (for code review and CI)' \
'approver:The built-in approval service\: serve it, make its key, manage reviewers and authors' \
'completions:Print shell completions for SHELL to standard output' \
'keygen:Create the operator'\''s Ed25519 key that signs session logs (mode 0600) and print its public key' \
'log:Verify, show, export or list session logs' \
'replay:Run the statements of a committed change, read from its session log, in another environment' \
'undo:Undo a committed change with the undo SQL its session log stored' \
'ledger:Create or list the in-database ledger of committed changes (pgward.ledger)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver_commands] )) ||
_pgward__subcmd__approver_commands() {
    local commands; commands=(
'serve:Serve protocol v1, the reviewer page and the chat endpoint' \
'keygen:Write a new service key (mode 0600) and print its public key for shell configs' \
'reviewer:Add or remove a reviewer (passwords are stored as argon2 hashes)' \
'author:Add or remove an author (prints the author'\''s credential; only its hash is stored)' \
'verify:Verify the decision log'\''s chain and signatures' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward approver commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__author_commands] )) ||
_pgward__subcmd__approver__subcmd__author_commands() {
    local commands; commands=(
'add:Add NAME (or replace their password or credential)' \
'remove:Remove NAME' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward approver author commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__author__subcmd__add_commands] )) ||
_pgward__subcmd__approver__subcmd__author__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver author add commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__author__subcmd__help_commands] )) ||
_pgward__subcmd__approver__subcmd__author__subcmd__help_commands() {
    local commands; commands=(
'add:Add NAME (or replace their password or credential)' \
'remove:Remove NAME' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward approver author help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__author__subcmd__help__subcmd__add_commands] )) ||
_pgward__subcmd__approver__subcmd__author__subcmd__help__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver author help add commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__author__subcmd__help__subcmd__help_commands] )) ||
_pgward__subcmd__approver__subcmd__author__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver author help help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__author__subcmd__help__subcmd__remove_commands] )) ||
_pgward__subcmd__approver__subcmd__author__subcmd__help__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver author help remove commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__author__subcmd__remove_commands] )) ||
_pgward__subcmd__approver__subcmd__author__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver author remove commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help_commands] )) ||
_pgward__subcmd__approver__subcmd__help_commands() {
    local commands; commands=(
'serve:Serve protocol v1, the reviewer page and the chat endpoint' \
'keygen:Write a new service key (mode 0600) and print its public key for shell configs' \
'reviewer:Add or remove a reviewer (passwords are stored as argon2 hashes)' \
'author:Add or remove an author (prints the author'\''s credential; only its hash is stored)' \
'verify:Verify the decision log'\''s chain and signatures' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward approver help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help__subcmd__author_commands] )) ||
_pgward__subcmd__approver__subcmd__help__subcmd__author_commands() {
    local commands; commands=(
'add:Add NAME (or replace their password or credential)' \
'remove:Remove NAME' \
    )
    _describe -t commands 'pgward approver help author commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help__subcmd__author__subcmd__add_commands] )) ||
_pgward__subcmd__approver__subcmd__help__subcmd__author__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver help author add commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help__subcmd__author__subcmd__remove_commands] )) ||
_pgward__subcmd__approver__subcmd__help__subcmd__author__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver help author remove commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help__subcmd__help_commands] )) ||
_pgward__subcmd__approver__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver help help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help__subcmd__keygen_commands] )) ||
_pgward__subcmd__approver__subcmd__help__subcmd__keygen_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver help keygen commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help__subcmd__reviewer_commands] )) ||
_pgward__subcmd__approver__subcmd__help__subcmd__reviewer_commands() {
    local commands; commands=(
'add:Add NAME (or replace their password or credential)' \
'remove:Remove NAME' \
    )
    _describe -t commands 'pgward approver help reviewer commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help__subcmd__reviewer__subcmd__add_commands] )) ||
_pgward__subcmd__approver__subcmd__help__subcmd__reviewer__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver help reviewer add commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help__subcmd__reviewer__subcmd__remove_commands] )) ||
_pgward__subcmd__approver__subcmd__help__subcmd__reviewer__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver help reviewer remove commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help__subcmd__serve_commands] )) ||
_pgward__subcmd__approver__subcmd__help__subcmd__serve_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver help serve commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__help__subcmd__verify_commands] )) ||
_pgward__subcmd__approver__subcmd__help__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver help verify commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__keygen_commands] )) ||
_pgward__subcmd__approver__subcmd__keygen_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver keygen commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__reviewer_commands] )) ||
_pgward__subcmd__approver__subcmd__reviewer_commands() {
    local commands; commands=(
'add:Add NAME (or replace their password or credential)' \
'remove:Remove NAME' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward approver reviewer commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__reviewer__subcmd__add_commands] )) ||
_pgward__subcmd__approver__subcmd__reviewer__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver reviewer add commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__reviewer__subcmd__help_commands] )) ||
_pgward__subcmd__approver__subcmd__reviewer__subcmd__help_commands() {
    local commands; commands=(
'add:Add NAME (or replace their password or credential)' \
'remove:Remove NAME' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward approver reviewer help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__reviewer__subcmd__help__subcmd__add_commands] )) ||
_pgward__subcmd__approver__subcmd__reviewer__subcmd__help__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver reviewer help add commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__reviewer__subcmd__help__subcmd__help_commands] )) ||
_pgward__subcmd__approver__subcmd__reviewer__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver reviewer help help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__reviewer__subcmd__help__subcmd__remove_commands] )) ||
_pgward__subcmd__approver__subcmd__reviewer__subcmd__help__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver reviewer help remove commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__reviewer__subcmd__remove_commands] )) ||
_pgward__subcmd__approver__subcmd__reviewer__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver reviewer remove commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__serve_commands] )) ||
_pgward__subcmd__approver__subcmd__serve_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver serve commands' commands "$@"
}
(( $+functions[_pgward__subcmd__approver__subcmd__verify_commands] )) ||
_pgward__subcmd__approver__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'pgward approver verify commands' commands "$@"
}
(( $+functions[_pgward__subcmd__check_commands] )) ||
_pgward__subcmd__check_commands() {
    local commands; commands=()
    _describe -t commands 'pgward check commands' commands "$@"
}
(( $+functions[_pgward__subcmd__completions_commands] )) ||
_pgward__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'pgward completions commands' commands "$@"
}
(( $+functions[_pgward__subcmd__demo_commands] )) ||
_pgward__subcmd__demo_commands() {
    local commands; commands=()
    _describe -t commands 'pgward demo commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help_commands] )) ||
_pgward__subcmd__help_commands() {
    local commands; commands=(
'demo:Start a throwaway PostgreSQL cluster with a sample shop schema and open the shell on it' \
'check:Classify the statements in SQL files without connecting (for code review and CI)' \
'approver:The built-in approval service\: serve it, make its key, manage reviewers and authors' \
'completions:Print shell completions for SHELL to standard output' \
'keygen:Create the operator'\''s Ed25519 key that signs session logs (mode 0600) and print its public key' \
'log:Verify, show, export or list session logs' \
'replay:Run the statements of a committed change, read from its session log, in another environment' \
'undo:Undo a committed change with the undo SQL its session log stored' \
'ledger:Create or list the in-database ledger of committed changes (pgward.ledger)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__approver_commands] )) ||
_pgward__subcmd__help__subcmd__approver_commands() {
    local commands; commands=(
'serve:Serve protocol v1, the reviewer page and the chat endpoint' \
'keygen:Write a new service key (mode 0600) and print its public key for shell configs' \
'reviewer:Add or remove a reviewer (passwords are stored as argon2 hashes)' \
'author:Add or remove an author (prints the author'\''s credential; only its hash is stored)' \
'verify:Verify the decision log'\''s chain and signatures' \
    )
    _describe -t commands 'pgward help approver commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__approver__subcmd__author_commands] )) ||
_pgward__subcmd__help__subcmd__approver__subcmd__author_commands() {
    local commands; commands=(
'add:Add NAME (or replace their password or credential)' \
'remove:Remove NAME' \
    )
    _describe -t commands 'pgward help approver author commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__approver__subcmd__author__subcmd__add_commands] )) ||
_pgward__subcmd__help__subcmd__approver__subcmd__author__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help approver author add commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__approver__subcmd__author__subcmd__remove_commands] )) ||
_pgward__subcmd__help__subcmd__approver__subcmd__author__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help approver author remove commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__approver__subcmd__keygen_commands] )) ||
_pgward__subcmd__help__subcmd__approver__subcmd__keygen_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help approver keygen commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__approver__subcmd__reviewer_commands] )) ||
_pgward__subcmd__help__subcmd__approver__subcmd__reviewer_commands() {
    local commands; commands=(
'add:Add NAME (or replace their password or credential)' \
'remove:Remove NAME' \
    )
    _describe -t commands 'pgward help approver reviewer commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__approver__subcmd__reviewer__subcmd__add_commands] )) ||
_pgward__subcmd__help__subcmd__approver__subcmd__reviewer__subcmd__add_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help approver reviewer add commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__approver__subcmd__reviewer__subcmd__remove_commands] )) ||
_pgward__subcmd__help__subcmd__approver__subcmd__reviewer__subcmd__remove_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help approver reviewer remove commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__approver__subcmd__serve_commands] )) ||
_pgward__subcmd__help__subcmd__approver__subcmd__serve_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help approver serve commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__approver__subcmd__verify_commands] )) ||
_pgward__subcmd__help__subcmd__approver__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help approver verify commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__check_commands] )) ||
_pgward__subcmd__help__subcmd__check_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help check commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__completions_commands] )) ||
_pgward__subcmd__help__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help completions commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__demo_commands] )) ||
_pgward__subcmd__help__subcmd__demo_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help demo commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__help_commands] )) ||
_pgward__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__keygen_commands] )) ||
_pgward__subcmd__help__subcmd__keygen_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help keygen commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__ledger_commands] )) ||
_pgward__subcmd__help__subcmd__ledger_commands() {
    local commands; commands=(
'init:Create pgward.ledger in the environment'\''s database and grant its roles what they need' \
'show:List the committed changes the ledger holds, oldest first' \
    )
    _describe -t commands 'pgward help ledger commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__ledger__subcmd__init_commands] )) ||
_pgward__subcmd__help__subcmd__ledger__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help ledger init commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__ledger__subcmd__show_commands] )) ||
_pgward__subcmd__help__subcmd__ledger__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help ledger show commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__log_commands] )) ||
_pgward__subcmd__help__subcmd__log_commands() {
    local commands; commands=(
'verify:Check chain, signatures and ending of each FILE; exit 0 only when every log is intact' \
'show:Print a readable summary of a session log' \
'export:Render a session log as the ticket attachment' \
'attach:Attach a session log to its ticket (\[tickets\] in the config); clears it from the pending attachments the banner lists' \
'list:List session logs, newest first' \
    )
    _describe -t commands 'pgward help log commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__log__subcmd__attach_commands] )) ||
_pgward__subcmd__help__subcmd__log__subcmd__attach_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help log attach commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__log__subcmd__export_commands] )) ||
_pgward__subcmd__help__subcmd__log__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help log export commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__log__subcmd__list_commands] )) ||
_pgward__subcmd__help__subcmd__log__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help log list commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__log__subcmd__show_commands] )) ||
_pgward__subcmd__help__subcmd__log__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help log show commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__log__subcmd__verify_commands] )) ||
_pgward__subcmd__help__subcmd__log__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help log verify commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__replay_commands] )) ||
_pgward__subcmd__help__subcmd__replay_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help replay commands' commands "$@"
}
(( $+functions[_pgward__subcmd__help__subcmd__undo_commands] )) ||
_pgward__subcmd__help__subcmd__undo_commands() {
    local commands; commands=()
    _describe -t commands 'pgward help undo commands' commands "$@"
}
(( $+functions[_pgward__subcmd__keygen_commands] )) ||
_pgward__subcmd__keygen_commands() {
    local commands; commands=()
    _describe -t commands 'pgward keygen commands' commands "$@"
}
(( $+functions[_pgward__subcmd__ledger_commands] )) ||
_pgward__subcmd__ledger_commands() {
    local commands; commands=(
'init:Create pgward.ledger in the environment'\''s database and grant its roles what they need' \
'show:List the committed changes the ledger holds, oldest first' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward ledger commands' commands "$@"
}
(( $+functions[_pgward__subcmd__ledger__subcmd__help_commands] )) ||
_pgward__subcmd__ledger__subcmd__help_commands() {
    local commands; commands=(
'init:Create pgward.ledger in the environment'\''s database and grant its roles what they need' \
'show:List the committed changes the ledger holds, oldest first' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward ledger help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__ledger__subcmd__help__subcmd__help_commands] )) ||
_pgward__subcmd__ledger__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'pgward ledger help help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__ledger__subcmd__help__subcmd__init_commands] )) ||
_pgward__subcmd__ledger__subcmd__help__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'pgward ledger help init commands' commands "$@"
}
(( $+functions[_pgward__subcmd__ledger__subcmd__help__subcmd__show_commands] )) ||
_pgward__subcmd__ledger__subcmd__help__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'pgward ledger help show commands' commands "$@"
}
(( $+functions[_pgward__subcmd__ledger__subcmd__init_commands] )) ||
_pgward__subcmd__ledger__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'pgward ledger init commands' commands "$@"
}
(( $+functions[_pgward__subcmd__ledger__subcmd__show_commands] )) ||
_pgward__subcmd__ledger__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'pgward ledger show commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log_commands] )) ||
_pgward__subcmd__log_commands() {
    local commands; commands=(
'verify:Check chain, signatures and ending of each FILE; exit 0 only when every log is intact' \
'show:Print a readable summary of a session log' \
'export:Render a session log as the ticket attachment' \
'attach:Attach a session log to its ticket (\[tickets\] in the config); clears it from the pending attachments the banner lists' \
'list:List session logs, newest first' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward log commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__attach_commands] )) ||
_pgward__subcmd__log__subcmd__attach_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log attach commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__export_commands] )) ||
_pgward__subcmd__log__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log export commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__help_commands] )) ||
_pgward__subcmd__log__subcmd__help_commands() {
    local commands; commands=(
'verify:Check chain, signatures and ending of each FILE; exit 0 only when every log is intact' \
'show:Print a readable summary of a session log' \
'export:Render a session log as the ticket attachment' \
'attach:Attach a session log to its ticket (\[tickets\] in the config); clears it from the pending attachments the banner lists' \
'list:List session logs, newest first' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward log help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__help__subcmd__attach_commands] )) ||
_pgward__subcmd__log__subcmd__help__subcmd__attach_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log help attach commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__help__subcmd__export_commands] )) ||
_pgward__subcmd__log__subcmd__help__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log help export commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__help__subcmd__help_commands] )) ||
_pgward__subcmd__log__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log help help commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__help__subcmd__list_commands] )) ||
_pgward__subcmd__log__subcmd__help__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log help list commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__help__subcmd__show_commands] )) ||
_pgward__subcmd__log__subcmd__help__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log help show commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__help__subcmd__verify_commands] )) ||
_pgward__subcmd__log__subcmd__help__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log help verify commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__list_commands] )) ||
_pgward__subcmd__log__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log list commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__show_commands] )) ||
_pgward__subcmd__log__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log show commands' commands "$@"
}
(( $+functions[_pgward__subcmd__log__subcmd__verify_commands] )) ||
_pgward__subcmd__log__subcmd__verify_commands() {
    local commands; commands=()
    _describe -t commands 'pgward log verify commands' commands "$@"
}
(( $+functions[_pgward__subcmd__replay_commands] )) ||
_pgward__subcmd__replay_commands() {
    local commands; commands=()
    _describe -t commands 'pgward replay commands' commands "$@"
}
(( $+functions[_pgward__subcmd__undo_commands] )) ||
_pgward__subcmd__undo_commands() {
    local commands; commands=()
    _describe -t commands 'pgward undo commands' commands "$@"
}

if [ "$funcstack[1]" = "_pgward" ]; then
    _pgward "$@"
else
    compdef _pgward pgward
fi
