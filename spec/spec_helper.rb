# frozen_string_literal: true

# Run through bin/test, which sets GEM_PATH and RUBYLIB for one Rack version and says which
# one it wants in PISTON_SPEC_RACK ("2.2" or "3.1"). That version is activated here, before
# anything else can load Rack, and the run stops if another one loads.
expected_rack = ENV["PISTON_SPEC_RACK"].to_s
gem "rack", "~> #{expected_rack}" unless expected_rack.empty?
require "rack"

rack_spec = Gem.loaded_specs["rack"]
engine = defined?(JRUBY_VERSION) ? "JRuby #{JRUBY_VERSION}" : "#{RUBY_ENGINE} #{RUBY_VERSION}"
java_version = defined?(JRUBY_VERSION) ? ", Java #{ENV_JAVA['java.version']}" : ""
puts "Rack #{Rack.release} (#{rack_spec ? rack_spec.full_gem_path : $LOADED_FEATURES.grep(%r{/rack\.rb\z}).first}) " \
     "on #{engine} (Ruby #{RUBY_VERSION}#{java_version})"
unless expected_rack.empty? || Rack.release.start_with?("#{expected_rack}.")
  abort "spec_helper: expected Rack #{expected_rack}.x, but Rack #{Rack.release} loaded"
end

require "timeout"
require_relative "support/raw_http"
require_relative "support/server"
require_relative "support/cli"
Dir[File.join(__dir__, "support", "*.rb")].sort.each { |f| require f }

# Seconds one example may take (metadata `timeout: N` overrides it), so that nothing hangs.
SPEC_TIMEOUT = Float(ENV.fetch("SPEC_TIMEOUT", "60"))

# Seconds the whole run may take (bin/test sets it). Past that, every thread's stack is printed
# (Ruby threads, then Java ones such as Netty's) and the process exits with 124.
if ENV["SUITE_TIMEOUT"]
  suite_limit = Float(ENV["SUITE_TIMEOUT"])
  Thread.new do
    sleep suite_limit
    err = $stderr
    err.puts "", "spec_helper: the run took longer than #{suite_limit}s (SUITE_TIMEOUT); threads:"
    Thread.list.each do |t|
      err.puts "#{t.inspect}", *(t.backtrace || []).first(40).map { |l| "    #{l}" }
    end
    if defined?(JRUBY_VERSION)
      java.lang.Thread.all_stack_traces.each do |jt, frames|
        next if jt.name =~ /\A(Ruby-|main\z|Reference Handler|Finalizer|Signal Dispatcher|Common-Cleaner|Cleaner-|Notification Thread|Attach Listener)/

        err.puts "java: #{jt.name} (#{jt.state})", *frames.first(25).map { |f| "    #{f}" }
      end
    end
    err.flush
    exit!(124)
  end
end

RSpec.configure do |config|
  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.mock_with(:rspec) { |m| m.verify_partial_doubles = true }
  config.filter_run_when_matching :focus
  config.silence_filter_announcements = true
  config.order = :defined

  # `rack: 3` (or "3.1", "2") runs an example or group only under that Rack version.
  config.filter_run_excluding rack: ->(v) { !"#{Rack.release}.".start_with?("#{v}.") }

  config.include PistonSpec::ServerHelpers
  config.include PistonSpec::CliHelpers

  config.around(:each) do |example|
    limit = example.metadata.fetch(:timeout, SPEC_TIMEOUT)
    Timeout.timeout(limit, Timeout::Error, "example took longer than #{limit}s") { example.run }
  end

  # Servers and processes a spec started and did not stop: those of an example after it, those
  # of a group (started in before(:all)) after the group.
  config.after(:each) do
    PistonSpec::Cli.kill_all { |c| c.owner.equal?(self) }
    PistonSpec::Server.stop_all { |s| s.owner.equal?(self) }
  end
  config.after(:context) do
    PistonSpec::Cli.kill_all { |c| c.owner.equal?(self.class) }
    PistonSpec::Server.stop_all { |s| s.owner.equal?(self.class) }
  end
end
