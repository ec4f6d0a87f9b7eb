# frozen_string_literal: true

# rack.upgrade: WebSockets and Server-Sent Events through callback objects. Defines
# Piston::Connection (the client object handlers get), Piston::ConnectionMethods (the self-style
# methods), Piston.publish / Piston.subscribe / Piston.unsubscribe and Piston.pubsub_engine.
Java::IoPistonUpgrade::UpgradeLibrary.load(JRuby.runtime)
require "piston/connection_methods"
require "piston/pubsub"
