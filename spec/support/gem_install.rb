# frozen_string_literal: true

require "fileutils"
require "open3"
require "tmpdir"

# The built gem (target/piston-VERSION-java.gem, from `mvn package`) installed once per RSpec
# run into a temporary GEM_HOME, and the commands and environment to start servers from it
# with the JRuby (and Java) this suite runs on, as a user would after `gem install piston`:
#
#   env = PistonSpec::GemInstall.env            # GEM_HOME/GEM_PATH with the gem, no checkout on RUBYLIB
#   cmd = [*PistonSpec::GemInstall.jruby, PistonSpec::GemInstall.rackup_bin, "-s", "piston", ...]
#   server = PistonSpec::Cli.start(command: cmd, env: env)
module PistonSpec
  module GemInstall
    ROOT = File.expand_path("../..", __dir__)
    CHECKOUT_LIB = File.join(ROOT, "ruby", "lib")

    @lock = Mutex.new

    module_function

    def gem_file
      Dir[File.join(ROOT, "target", "piston-*-java.gem")].max_by { |f| File.mtime(f) } or
        raise "no target/piston-*-java.gem: build it with `mvn package`"
    end

    # The temporary GEM_HOME the gem is installed in (installs on first use; removed at exit).
    def home
      @lock.synchronize do
        @home ||= begin
          dir = Dir.mktmpdir("piston-gem-home")
          at_exit { FileUtils.rm_rf(dir) }
          env = { "GEM_HOME" => dir, "GEM_PATH" => dir, "RUBYLIB" => nil, "RUBYOPT" => nil }
          out, status = Open3.capture2e(env, *jruby, "-S", "gem", "install", "--local", "--no-document",
                                        gem_file, chdir: dir)
          raise "gem install failed (#{status.inspect}):\n#{out}" unless status.success?

          dir
        end
      end
    end

    # java ... -jar jruby-complete.jar: the JRuby and JVM this suite runs on (bin/test exports
    # the JVM flags in JRUBY_OPTS_JAVA).
    def jruby
      java = File.join(ENV_JAVA["java.home"], "bin", "java")
      jar = ENV_JAVA["java.class.path"].split(File::PATH_SEPARATOR).find { |p| p.end_with?(".jar") } or
        raise "spec/support/gem_install.rb: run the suite with java -jar jruby-complete.jar"
      [java, *ENV.fetch("JRUBY_OPTS_JAVA", "").split, "-jar", jar]
    end

    # Environment for a child JRuby that finds Piston only as an installed gem: the gem's
    # GEM_HOME first on GEM_PATH, the checkout's ruby/lib off RUBYLIB.
    def env(extra = {})
      # The trailing separator keeps JRuby's own gem folder on the path (RubyGems adds the default
      # path then): JRuby 10's bundled gems (base64, which rack-protection 4 needs) live there.
      gem_path = [home, *ENV["GEM_PATH"].to_s.split(File::PATH_SEPARATOR)].join(File::PATH_SEPARATOR) +
                 File::PATH_SEPARATOR
      rubylib = ENV["RUBYLIB"].to_s.split(File::PATH_SEPARATOR).reject { |p| File.expand_path(p) == CHECKOUT_LIB }
      { "GEM_HOME" => home, "GEM_PATH" => gem_path, "RUBYLIB" => rubylib.join(File::PATH_SEPARATOR),
        "RUBYOPT" => nil, "RACK_ENV" => nil, "RACKUP_HANDLER" => nil, "RACK_HANDLER" => nil }.merge(extra)
    end

    # The rackup executable of the Rack this run uses: rack 2.2's own, or the rackup 2 gem's.
    def rackup_bin
      if Rack.release.start_with?("2.")
        Gem.bin_path("rack", "rackup")
      else
        Gem.bin_path("rackup", "rackup")
      end
    end
  end
end
