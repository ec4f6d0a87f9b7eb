# place in config.ru
RESPONSE = [200, { 'Content-Type' => 'text/html',
          'Content-Length' => '12' }, [ 'Hello World!' ] ]

# A live connection storage
module LiveList
  @list = []
  @lock = Mutex.new
  def self.<<(connection)
    @lock.synchronize { @list << connection }
  end
  def self.>>(connection)
    @lock.synchronize { @list.delete connection }
  end
  def self.broadcast(data)
    @lock.synchronize {
      @list.each {|c| c.write data }
    }
  end
end

# a Callback class
class MyCallbacks
  def on_open
    # add connection to the "live list"
    LiveList << self
  end
  def on_message(data)
    # Just an example broadcast
    LiveList.broadcast "Special Announcement: #{data}"
  end
  def on_close
    # remove connection to the "live list"
    LiveList >> self
  end
end

# Broadcast the time very second
Thread.new do
  while(true) do 
    sleep(1)
    LiveList.broadcast "The time is: #{Time.now}"
  end
end

# The Rack application
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
