# frozen_string_literal: true

# Piston: a Rack server for JRuby with a Netty core. `require "piston"` loads the Java core into
# the running JRuby (no second runtime) and defines Piston::Server and Piston.run.
raise LoadError, "Piston runs on JRuby (this is #{RUBY_ENGINE} #{RUBY_VERSION})" unless RUBY_ENGINE == "jruby"

require "java"
require "jruby"
require "stringio"
# Rack::Lint and many apps use URI without requiring it. Not an autoload: `require "uri/generic"`
# (Active Support does) reopens `module URI` halfway through, which would trigger the autoload
# and load uri/file.rb before URI::Generic exists.
require "uri"
require "piston/version"
require "piston/empty_input"

module Piston
  JAR_DIR = File.expand_path("piston/jars", __dir__)
  # The core only: piston_redis.jar, the Redis client, is loaded when a Redis engine starts (pubsub.rb).
  core_jar = File.join(JAR_DIR, "piston_core.jar")
  raise LoadError, "Piston's Java core is missing from #{JAR_DIR}: build it with `mvn package`" unless File.file?(core_jar)

  # The bundled SLF4J (which Netty looks for, and Lettuce logs through) would print a notice when
  # the app has no binding.
  java.lang.System.setProperty("slf4j.internal.verbosity", "ERROR") unless java.lang.System.getProperty("slf4j.internal.verbosity")
  require core_jar
  Java::IoPistonRuby::PistonLibrary.load(JRuby.runtime)
end

require "piston/server"
