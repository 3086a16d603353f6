// The key service and directory an admin command runs against, opened on a TestTenant's store as
// the daemon opens them (its own master key, the appliance key ensured), for tests that drive
// run_admin_command or the portal's commands without a daemon. Test thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <variant>

#include "appliance/directory/directory.h"
#include "appliance/keys/key_service.h"
#include "appliance/keys/key_setup.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx::testing {

struct AdminDirectory {
    // `master_byte` makes the test's own master key (tests that run side by side differ in it).
    AdminDirectory(TestTenant& tenant, std::uint8_t master_byte) {
        auto opened = open_keys(*tenant.layout, fixed_master_key(master_byte), "test master key");
        VMX_ASSERT(std::holds_alternative<OpenedKeys>(opened));
        keys = std::make_unique<KeyService>(std::move(std::get<OpenedKeys>(opened)));
        VMX_ASSERT(keys->ensure(appliance_scope, kTestStart));
        auto env = store::Env::open(tenant.dir.sub("admin-directory"),
                                    tenant.layout->env_options(store::GlobalKind::directory));
        VMX_ASSERT(env);
        directory_env = std::move(*env);
        auto index_key = Directory::derive_index_key(fixed_master_key(master_byte).material.view());
        VMX_ASSERT(index_key);
        auto d = Directory::open(*directory_env, std::move(*index_key));
        VMX_ASSERT(d);
        directory = std::make_unique<Directory>(std::move(*d));
    }

    std::unique_ptr<KeyService> keys;
    std::unique_ptr<store::Env> directory_env;
    std::unique_ptr<Directory> directory;
};

}  // namespace vmx::testing
