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
'-e+[Named environment from the config file (e.g. prod)]:NAME:_default' \
'--env=[Named environment from the config file (e.g. prod)]:NAME:_default' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
'-t+[The ticket this change belongs to (required where approval is required)]:ID:_default' \
'--ticket=[The ticket this change belongs to (required where approval is required)]:ID:_default' \
'--author=[Who is typing \[default\: config \`author\`, else the OS user\]]:NAME:_default' \
'--write-role=[Least-privilege role that writes run as (ad-hoc environment without a config file)]:ROLE:_default' \
'--read-role=[Role that reads run as (ad-hoc environment)]:ROLE:_default' \
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
'--dry-run[Run every write and show its preview, then roll back\: nothing is committed]' \
'--help[Print help]' \
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
'approver:The built-in approval service\: serve it, make its key, manage reviewers and authors' \
'completions:Print shell completions for SHELL to standard output' \
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
'approver:The built-in approval service\: serve it, make its key, manage reviewers and authors' \
'completions:Print shell completions for SHELL to standard output' \
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

if [ "$funcstack[1]" = "_pgward" ]; then
    _pgward "$@"
else
    compdef _pgward pgward
fi
