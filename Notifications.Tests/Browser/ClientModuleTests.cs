using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Browser;

/// <summary>The browser module (/js/notifications-client.js) driven by itself in real Chromium against the real service.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ClientModuleTests(BrowserFixture browser)
{
    [Fact(Timeout = 120_000)]
    public async Task A_live_push_does_not_move_the_resume_point_only_a_catch_up_does()
    {
        var user = TestUsers.New("module");
        await using var session = browser.NewSession();
        var tab = await session.InboxAsync(user, "inbox");
        await tab.EvaluateAsync($$"""
            async () => {
              const { createNotificationsClient } = await import('/js/notifications-client.js');
              const res = await fetch('/dev/token', {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ userId: '{{user}}', roles: [] }),
              });
              const { accessToken } = await res.json();
              const t = { got: [], syncs: 0 };
              t.client = createNotificationsClient({
                getToken: async () => accessToken,
                autoAck: false,
                autoStart: false,
                onNotification: (n, { source }) => t.got.push([Number(n.id), source]),
                onSync: () => { t.syncs++; },
              });
              window.moduleUnderTest = t;
              await t.client.start();
            }
            """, "starting a client of the module");
        await WaitForAsync(tab, "() => window.moduleUnderTest.syncs >= 1", "the first catch-up");
        var resumeFrom = await LastIdAsync(tab);

        var id = await browser.SendAsync(TestUsers.Notification("live", user));
        await WaitForAsync(tab, $"() => window.moduleUnderTest.got.some(([i]) => i === {id})", "the live push");

        // The push could have overtaken another still on the wire: the next catch-up must still start below it.
        Assert.Equal(resumeFrom, await LastIdAsync(tab));
        await tab.EvaluateAsync("() => window.moduleUnderTest.client.sync()", "a catch-up");
        Assert.True(await LastIdAsync(tab) >= id);
        var deliveries = await tab.EvaluateAsync<string>(
            $"() => JSON.stringify(window.moduleUnderTest.got.filter(([i]) => i === {id}))", "the deliveries of the push");
        Assert.Equal($"[[{id},\"live\"]]", deliveries);
        await tab.EvaluateAsync("() => window.moduleUnderTest.client.stop()", "stopping the client");
        session.AssertNoConsoleErrors();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_sync_page_size_the_hub_would_refuse_is_refused_when_the_client_is_created()
    {
        await using var session = browser.NewSession();
        var tab = await session.InboxAsync(TestUsers.New("module-size"), "inbox");
        var refusals = await tab.EvaluateAsync<string>(
            """
            async () => {
              const { createNotificationsClient } = await import('/js/notifications-client.js');
              const attempt = syncPageSize => {
                try {
                  createNotificationsClient({ getToken: async () => 'unused', autoStart: false, syncPageSize }).stop();
                  return 'made';
                } catch (e) {
                  return e instanceof RangeError ? 'refused' : String(e);
                }
              };
              return JSON.stringify([0, 1, 1000, 1001, 2.5, '10'].map(attempt));
            }
            """, "creating clients with several page sizes");
        Assert.Equal("""["refused","made","made","refused","refused","refused"]""", refusals);
        session.AssertNoConsoleErrors();
    }

    [Fact(Timeout = 120_000)]
    public async Task The_pages_read_roles_from_the_role_claim_only_as_the_server_does()
    {
        await using var session = browser.NewSession();
        var tab = await session.InboxAsync(TestUsers.New("module-roles"), "inbox");
        var roles = await tab.EvaluateAsync<string>(
            """
            async () => {
              const { rolesOf } = await import('/js/common.js');
              return JSON.stringify([
                { role: 'admin' },
                { role: ['ops', 'ops', 'admin'] },
                { roles: ['admin'] },
                { 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role': 'admin' },
                { role: '["admin"]' },
                {},
              ].map(rolesOf));
            }
            """, "reading the roles of several token payloads");
        Assert.Equal("""[["admin"],["ops","admin"],[],[],["[\"admin\"]"],[]]""", roles);
        session.AssertNoConsoleErrors();
    }

    private static async Task<long> LastIdAsync(BrowserTab tab) =>
        (long)await tab.EvaluateAsync<double>("() => window.moduleUnderTest.client.lastId", "the client's resume point");

    private static Task WaitForAsync(BrowserTab tab, string condition, string what) =>
        tab.Page.WaitForFunctionAsync(condition).WithTimeout(BrowserFixture.Patience, $"{what} in tab {tab.Name}");
}
