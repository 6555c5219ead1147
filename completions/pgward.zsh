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
'--env=[Named environment from the config file (e.g. prod)]:NAME:_default' \
'--config=[Config file \[default\: \$PGWARD_CONFIG, else ~/.config/pgward/config.toml\]]:FILE:_files' \
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
'-X[Do not read the startup file ~/.pgwardrc]' \
'--no-psqlrc[Do not read the startup file ~/.pgwardrc]' \
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
'--dry-run[Run every write and show its preview, then roll back\: nothing is committed]' \
'-X[Do not read the startup file ~/.pgwardrc]' \
'--no-psqlrc[Do not read the startup file ~/.pgwardrc]' \
'--help[Print help]' \
&& ret=0
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
'completions:Print shell completions for SHELL to standard output' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward commands' commands "$@"
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
'completions:Print shell completions for SHELL to standard output' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'pgward help commands' commands "$@"
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
