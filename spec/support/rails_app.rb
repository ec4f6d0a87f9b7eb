# frozen_string_literal: true

# A Rails app's `bin/rails server -u piston` as a child process: Piston from the installed gem
# (PistonSpec::GemInstall), Rails from Debian's packages made loadable by bin/setup (the load
# path listed in RailsApp::DEPS). The Rails is 6.1 (bookworm's, .deps/rails, on Rack 2.2) or,
# when PISTON_SPEC_RAILS=7.2 (bin/test --rails72), 7.2 (trixie's, .deps/rails72, on Rack 3.1).
#
#   server = PistonSpec::RailsApp.start("examples/rails", PistonSpec::RailsApp::DEPS)  # a PistonSpec::Cli
module PistonSpec
  module RailsApp
    VERSION = ENV.fetch("PISTON_SPEC_RAILS", "6.1")
    DEPS = File.join(GemInstall::ROOT, ".deps", VERSION == "7.2" ? "rails72" : "rails", "rubylib")
    # The Rack major version that Rails runs on: the `rack:` tag of the Rails spec groups.
    RACK = VERSION == "7.2" ? 3 : 2

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
