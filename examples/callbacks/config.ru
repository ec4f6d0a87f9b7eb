# place in config.ru
RESPONSE = [200, { 'Content-Type' => 'text/html',
          'Content-Length' => '12' }, [ 'Hello World!' ] ]
# a Callback class
class MyCallbacks
  def on_open
    puts "* Push connection opened."
  end
  def on_message data
    puts "* Incoming data: #{data}"
  end
  def on_close
    puts "* Push connection closed."
  end
end
# note the `env` variable
APP = Proc.new do |env|
  if(env['rack.upgrade?'])
    env['rack.upgrade'] = MyCallbacks.new
    [0, {}, []]
  else
    RESPONSE
  end
end
# The Rack DSL used to run the application
run APP
