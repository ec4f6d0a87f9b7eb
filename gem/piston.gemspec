# frozen_string_literal: true

# Built by `mvn package` (see pom.xml), which stages this file with ruby/lib and ruby/exe in
# target/gem and runs JRuby's `gem build` there: the result is target/piston-VERSION-java.gem.
require_relative "lib/piston/version"

if ENV["PISTON_VERSION"] && ENV["PISTON_VERSION"] != Piston::VERSION
  raise "pom.xml says #{ENV['PISTON_VERSION']}, ruby/lib/piston/version.rb says #{Piston::VERSION}"
end

Gem::Specification.new do |s|
  s.name = "piston"
  s.version = Piston::VERSION
  s.platform = "java"
  s.summary = "A Rack web server for JRuby with a Netty core, WebSockets and SSE through rack.upgrade"
  s.description = "Piston serves Rack apps (Rails, Sinatra, any config.ru) on JRuby. Its HTTP core is " \
                  "Java and Netty (bundled, relocated so that it cannot clash with an app's own Netty); " \
                  "the app runs in the calling JRuby. Works with rackup (-s piston), rails server -u piston " \
                  "and Sinatra's `set :server, \"piston\"`."
  s.authors = ["Piston contributors"]
  s.license = "MIT"
  # The code needs Ruby 3.0 (endless methods). No JRuby is Ruby 3.0: 9.3 is 2.6, 9.4 is 3.1,
  # and 9.4 is the oldest the suite runs on.
  s.required_ruby_version = ">= 3.1"

  s.files = Dir["lib/**/*.rb", "lib/piston/jars/piston_core.jar", "lib/piston/jars/piston_redis.jar",
                "exe/piston", "LICENSE", "CHANGELOG.md"].sort
  s.require_paths = ["lib"]
  s.bindir = "exe"
  s.executables = ["piston"]
  s.metadata = { "rubygems_mfa_required" => "true" }
end
