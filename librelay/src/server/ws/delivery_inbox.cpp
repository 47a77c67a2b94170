#include "server/ws/delivery_inbox.hpp"

#include "server/ws/app_session.hpp"

namespace relay::server {

void delivery_inbox::push(item i, bool own_thread, net::any_io_executor const& ex)
{
        {
            std::unique_lock lock(mutex_);
            if (i.what != item::kind::event || !own_thread || !items_.empty()) {
                items_.push_back(std::move(i));
                if (posted_)
                    return;
                posted_ = true;
                lock.unlock();
                net::post(ex, [this] { drain(); });
                return;
            }
        }
        run(i);
    }

void delivery_inbox::run(item& i)
{
        switch (i.what) {
        case item::kind::event: i.app->on_delivery(i.channel, i.message); break;
        case item::kind::frame: i.app->enqueue_frame(std::move(i.message.frame)); break;
        case item::kind::access: i.app->on_access_changed(i.channel, i.role); break;
        case item::kind::login_end: i.app->on_login_ended(i.channel); break;
        }
    }

void delivery_inbox::drain()
{
        std::vector<item> batch;
        {
            std::lock_guard lock(mutex_);
            batch.swap(items_);
            posted_ = false;
        }
        for (auto& i : batch)
            run(i);
        // Hand the capacity back for the next burst, unless a new one already started.
        batch.clear();
        std::lock_guard lock(mutex_);
        if (items_.empty())
            items_.swap(batch);
    }

void delivery_inbox::shutdown()
{
        std::lock_guard lock(mutex_);
        items_.clear();
    }

} // namespace relay::server
