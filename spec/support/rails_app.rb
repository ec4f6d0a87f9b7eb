# frozen_string_literal: true

# A Rails app's `bin/rails server -u piston` as a child process: Piston from the installed gem
# (PistonSpec::GemInstall), Rails from Debian's packages made loadable by bin/setup (the load
# path listed in .deps/rails/rubylib).
#
#   server = PistonSpec::RailsApp.start("examples/rails", ".deps/rails/rubylib")  # a PistonSpec::Cli
module PistonSpec
  module RailsApp
    module_function

    def start(app_dir, rails_deps, env: {})
      rubylib = [*File.readlines(rails_deps, chomp: true), *ENV["RUBYLIB"].to_s.split(File::PATH_SEPARATOR)]
                .reject { |p| File.expand_path(p) == GemInstall::CHECKOUT_LIB }
      env = GemInstall.env("RUBYLIB" => rubylib.join(File::PATH_SEPARATOR),
                           "GEM_PATH" => GemInstall.home + File::PATH_SEPARATOR, **env)
      Cli.start(
        command: ["sh", "-c", 'cd "$0" && exec "$@"', app_dir, *GemInstall.jruby, "bin/rails", "server",
                  "-u", "piston", "-b", "127.0.0.1", "-p", "0"],
        env: env, timeout: 120
      )
    end
  end
end
