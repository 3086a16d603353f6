// The portal's style sheet (see static_assets.h).
#include "appliance/portal/static_assets.h"

namespace vmx::portal {

std::string_view portal_stylesheet() noexcept {
    return R"css(body { font-family: system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
header { background: #1f3a5f; color: #fff; padding: 0.5rem 1.5rem; }
header h1 { margin: 0.3rem 0; font-size: 1.3rem; }
nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 1rem; }
nav a { color: #fff; }
nav .signout { margin-top: 0.4rem; }
main { max-width: 60rem; margin: 1.5rem auto; background: #fff; padding: 1rem 2rem 2rem; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1.5rem; }
th, td { text-align: left; border-bottom: 1px solid #dde1e6; padding: 0.35rem 0.5rem; font-size: 0.92rem; }
form.inline { display: inline; }
label { display: block; margin: 0.6rem 0 0.2rem; }
input[type=text], input[type=password], input[type=email] { width: 20rem; max-width: 100%; padding: 0.35rem; }
button { margin-top: 0.6rem; padding: 0.35rem 0.9rem; }
.notice { background: #e8f4ea; border: 1px solid #9bc7a3; padding: 0.6rem; }
.problem { background: #fbeaea; border: 1px solid #d99; padding: 0.6rem; }
.secret { font-family: monospace; font-size: 1.1rem; background: #f1f1f1; padding: 0.3rem; }
.failure { color: #9b1c1c; }
svg.qr { width: 12rem; height: 12rem; }
)css";
}

}  // namespace vmx::portal
