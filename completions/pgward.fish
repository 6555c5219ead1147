# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pgward_global_optspecs
    string join \n help c/command= f/file= dry-run v/set= X/no-psqlrc env= config= ticket= author= write-role= read-role= h/host= p/port= U/username= d/dbname= w/no-password W/password V/version
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
complete -c pgward -n "__fish_pgward_needs_command" -l env -d 'Named environment from the config file (e.g. prod)' -r
complete -c pgward -n "__fish_pgward_needs_command" -l config -d 'Config file [default: $PGWARD_CONFIG, else ~/.config/pgward/config.toml]' -r -F
complete -c pgward -n "__fish_pgward_needs_command" -l ticket -d 'The ticket this change belongs to (required where approval is required)' -r
complete -c pgward -n "__fish_pgward_needs_command" -l author -d 'Who is typing [default: config `author`, else the OS user]' -r
complete -c pgward -n "__fish_pgward_needs_command" -l write-role -d 'Least-privilege role that writes run as (ad-hoc environment without a config file)' -r
complete -c pgward -n "__fish_pgward_needs_command" -l read-role -d 'Role that reads run as (ad-hoc environment)' -r
complete -c pgward -n "__fish_pgward_needs_command" -s h -l host -d 'Database server host or socket directory' -r
complete -c pgward -n "__fish_pgward_needs_command" -s p -l port -d 'Database server port' -r
complete -c pgward -n "__fish_pgward_needs_command" -s U -l username -d 'Database user name' -r
complete -c pgward -n "__fish_pgward_needs_command" -s d -l dbname -d 'Database name, URI or conninfo string' -r
complete -c pgward -n "__fish_pgward_needs_command" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_needs_command" -l dry-run -d 'Run every write and show its preview, then roll back: nothing is committed'
complete -c pgward -n "__fish_pgward_needs_command" -s X -l no-psqlrc -d 'Do not read the startup file ~/.pgwardrc'
complete -c pgward -n "__fish_pgward_needs_command" -s w -l no-password -d 'Never prompt for a password'
complete -c pgward -n "__fish_pgward_needs_command" -s W -l password -d 'Prompt for a password before connecting'
complete -c pgward -n "__fish_pgward_needs_command" -s V -l version -d 'Print version'
complete -c pgward -n "__fish_pgward_needs_command" -a "demo" -d 'Start a throwaway PostgreSQL cluster with a sample shop schema and open the shell on it'
complete -c pgward -n "__fish_pgward_needs_command" -a "completions" -d 'Print shell completions for SHELL to standard output'
complete -c pgward -n "__fish_pgward_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s c -l command -d 'Run this SQL (may be repeated), then exit' -r
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s f -l file -d 'Run the SQL in FILE (`-` for standard input), then exit' -r -F
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s v -l set -l variable -d 'Set script variable NAME to VALUE, used as :NAME, :\'NAME\' or :"NAME" (may be repeated)' -r
complete -c pgward -n "__fish_pgward_using_subcommand demo" -l dry-run -d 'Run every write and show its preview, then roll back: nothing is committed'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -s X -l no-psqlrc -d 'Do not read the startup file ~/.pgwardrc'
complete -c pgward -n "__fish_pgward_using_subcommand demo" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand completions" -l help -d 'Print help'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo completions help" -f -a "demo" -d 'Start a throwaway PostgreSQL cluster with a sample shop schema and open the shell on it'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo completions help" -f -a "completions" -d 'Print shell completions for SHELL to standard output'
complete -c pgward -n "__fish_pgward_using_subcommand help; and not __fish_seen_subcommand_from demo completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
