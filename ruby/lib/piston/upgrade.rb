# frozen_string_literal: true

# rack.upgrade: WebSockets and Server-Sent Events through callback objects. Defines
# Piston::ConnectionMethods (the self-style methods) and Piston.pubsub_engine; Piston::Connection
# (the client object handlers get) and Piston.publish / subscribe / unsubscribe come from the Java
# core, which piston.rb loads.
require "piston/connection_methods"
require "piston/pubsub"
