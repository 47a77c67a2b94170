#include "support/fixtures.hpp"

#include <relay/auth/device_auth.hpp>

#include <atomic>
#include <stdexcept>

namespace relay::test {

std::map<std::string, std::string> test_env(std::map<std::string, std::string> extra)
{
    extra.try_emplace("RELAY_SCRYPT_LN", "10");
    // Most tests hand out TURN URLs where no TURN server runs: the self-probe would make their
    // /health 503. tests/turn/turn_probe_test.cpp turns it on where a real coturn answers.
    extra.try_emplace("RELAY_TURN_PROBE_INTERVAL", "0");
    return extra;
}

account make_account(std::uint16_t port, std::string const& prefix)
{
    static std::atomic<int> counter{0};
    account a;
    a.email = prefix + std::to_string(++counter) + "@example.com";
    boost::json::object creds{{"email", a.email}, {"password", "correct horse battery"}};
    auto reg = http_json(port, "POST", "/api/auth/register", creds);
    if (reg.status != 201)
        throw std::runtime_error("register failed: " + std::to_string(reg.status) + " " + reg.body);
    a.user_id = reg.json().at("user_id").as_string().c_str();
    auto login = http_json(port, "POST", "/api/auth/login", creds);
    if (login.status != 200)
        throw std::runtime_error("login failed: " + std::to_string(login.status) + " " + login.body);
    a.access_token = login.json().at("access_token").as_string().c_str();
    a.refresh_token = login.json().at("refresh_token").as_string().c_str();
    return a;
}

device_credentials make_device(std::uint16_t port, account const& owner, std::string const& device_id,
                               std::string const& name)
{
    boost::json::object body{{"name", name}};
    if (!device_id.empty())
        body["device_id"] = device_id;
    auto res = http_json(port, "POST", "/api/devices", body, owner.access_token);
    if (res.status != 201)
        throw std::runtime_error("device create failed: " + std::to_string(res.status) + " " + res.body);
    auto j = res.json();
    return {j.at("device_id").as_string().c_str(), j.at("device_secret").as_string().c_str()};
}

void share_device(std::uint16_t port, account const& owner, std::string const& device_id, account const& with,
                  std::string const& role)
{
    auto res = http_json(port, "POST", "/api/devices/" + device_id + "/members",
                         boost::json::object{{"email", with.email}, {"role", role}}, owner.access_token);
    if (res.status / 100 != 2)
        throw std::runtime_error("share failed: " + std::to_string(res.status) + " " + res.body);
}

std::unique_ptr<ws_client> connect_robot(std::uint16_t port, device_credentials const& device)
{
    auto ws = std::make_unique<ws_client>(port, "/ws/device");
    auto challenge = ws->expect("auth_challenge");
    if (challenge.is_null())
        throw std::runtime_error("no auth_challenge");
    std::string nonce(challenge.at("nonce").as_string());
    ws->send(boost::json::object{{"type", "auth"},
                                 {"device_id", device.device_id},
                                 {"signature", relay::auth::device_signature(device.secret, nonce, device.device_id)}});
    auto ok = ws->expect("auth_ok");
    if (ok.is_null())
        throw std::runtime_error("robot auth failed");
    return ws;
}

std::unique_ptr<ws_client> connect_app(std::uint16_t port, account const& user, boost::json::value* auth_ok)
{
    auto ws = std::make_unique<ws_client>(port, "/ws/app", header_list{{"Authorization", "Bearer " + user.access_token}});
    auto ok = ws->expect("auth_ok");
    if (ok.is_null())
        throw std::runtime_error("app auth failed");
    if (auth_ok)
        *auth_ok = ok;
    return ws;
}

std::vector<boost::json::value> robot_events_in(std::vector<boost::json::value> const& messages)
{
    std::vector<boost::json::value> out;
    for (auto const& m : messages)
        if (m.at("type") == "event" && m.as_object().contains("seq"))
            out.push_back(m);
    return out;
}

std::vector<boost::json::value> resume_robot_events(ws_client& app, std::string const& device_id, std::uint64_t after_seq)
{
    app.send(boost::json::object{{"type", "resume"}, {"device_id", device_id}, {"after_seq", after_seq}});
    std::vector<boost::json::value> read;
    for (;;) {
        auto m = app.read_json(std::chrono::seconds(30));
        if (!m)
            throw std::runtime_error("no resumed within 30 s");
        if (m->at("type") == "resumed")
            return robot_events_in(read);
        read.push_back(std::move(*m));
    }
}

owner_with_app::owner_with_app(std::string const& device_id, std::map<std::string, std::string> env)
    : relayd(std::move(env)),
      owner(make_account(relayd.port())),
      dev(make_device(relayd.port(), owner, device_id)),
      app(connect_app(relayd.port(), owner))
{
}

} // namespace relay::test
