using Notifications.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Notifications.Tests.Browser;

/// <summary>
/// The dashboard's live stats on an instance whose Redis is killed and started again. In the browser collection so
/// it shares the one Chromium and never runs beside the other browser tests; its instance is its own.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardRedisTests(BrowserFixture browser, RedisDashboardFixture service) : IClassFixture<RedisDashboardFixture>
{
    private const string PartialNotice = "This instance's numbers only: the other instances' reports are unavailable.";

    /// <summary>How long the instance may take to see Redis gone or back (the client library backs off between reconnects).</summary>
    private static readonly TimeSpan RedisPatience = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 180_000)]
    public async Task Dashboard_says_its_stats_are_partial_while_Redis_is_down_and_stops_once_Redis_is_back()
    {
        await using var session = browser.NewSession();
        var dashboard = await session.NewDeviceAsync("dashboard");
        await dashboard.SignInAsync(service.Url("/admin/"), "ops-admin", "admin");
        await Expect(dashboard.TestId("compose-form")).ToBeVisibleAsync();
        var notice = dashboard.TestId("stats-error");

        // Redis up: the stats are the cluster's (here one instance), with no notice.
        Assert.False((await service.StatsAsync()).Partial);
        await Expect(dashboard.TestId("stat-instances")).ToHaveTextAsync("1");
        await Expect(notice).ToBeHiddenAsync();

        await service.Redis.KillAsync();
        try
        {
            await Timeouts.Eventually(async () => (await service.StatsAsync()).Partial, "the instance's stats are partial without Redis", RedisPatience);

            // The dashboard's next refresh keeps its numbers and says they are this instance's only.
            await Expect(notice).ToBeVisibleAsync();
            await Expect(notice).ToHaveTextAsync(PartialNotice);
            await Expect(dashboard.TestId("stat-instances")).ToHaveTextAsync("1");
            await Expect(dashboard.TestId("stat-sent-last-hour")).ToHaveTextAsync(NumberText());
            await Expect(dashboard.TestId("connections-count")).ToHaveTextAsync(NumberText());
            await dashboard.ScreenshotAsync("dashboard-stats-partial");
        }
        finally
        {
            await service.Redis.StartProcessAsync();
        }

        await Timeouts.Eventually(async () => !(await service.StatsAsync()).Partial, "the instance's stats are whole again with Redis back", RedisPatience);
        await Expect(notice).ToBeHiddenAsync();
        await Expect(notice).ToBeEmptyAsync();
        await Expect(dashboard.TestId("stat-instances")).ToHaveTextAsync("1");
        session.AssertNoConsoleErrors();
    }

    private static System.Text.RegularExpressions.Regex NumberText() => new(@"^\d[\d,]*$");
}
