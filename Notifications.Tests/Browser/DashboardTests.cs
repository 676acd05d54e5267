using Notifications.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Notifications.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class DashboardTests(BrowserFixture browser)
{
    /// <summary>What Chromium itself logs for any 4xx/5xx response; expected only for the deliberately bad sends.</summary>
    private const string FailedToLoad400 = "Failed to load resource: the server responded with a status of 400";

    [Fact(Timeout = 120_000)]
    public async Task After_loading_older_sends_every_newer_send_still_shows_even_those_sent_while_the_tab_was_hidden()
    {
        var user = TestUsers.New("listed");
        var oldest = await browser.SendAsync(TestUsers.Notification("oldest", user));
        for (var i = 0; i < 24; i++)
        {
            await browser.SendAsync(TestUsers.Notification($"older {i}", user));
        }

        await using var session = browser.NewSession();
        var dashboard = await session.DashboardAsync("ops-admin", "dashboard");
        await Expect(dashboard.SentItem(oldest)).ToHaveCountAsync(0);
        await dashboard.Page.Locator("#sent-load-more").ClickAsync();
        await Expect(dashboard.SentItem(oldest)).ToHaveCountAsync(1);

        // A hidden tab skips its refreshes; more than a page of sends arrives meanwhile.
        await dashboard.EvaluateAsync("() => Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })", "hiding the tab");
        var newer = new List<long>();
        for (var i = 0; i < 30; i++)
        {
            newer.Add(await browser.SendAsync(TestUsers.Notification($"newer {i}", user)));
        }

        await dashboard.EvaluateAsync(
            "() => { Object.defineProperty(document, 'hidden', { configurable: true, get: () => false }); document.dispatchEvent(new Event('visibilitychange')); }",
            "showing the tab again");
        foreach (var id in newer)
        {
            await Expect(dashboard.SentItem(id)).ToHaveCountAsync(1);
        }

        session.AssertNoConsoleErrors();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_non_admin_token_sees_the_not_allowed_page()
    {
        await using var session = browser.NewSession();
        var tab = await session.NewDeviceAsync("dashboard");
        await tab.Page.GotoAsync("/admin/");
        await tab.TestId("signin-toggle").ClickAsync();
        await tab.TestId("signin-token").FillAsync(TestTokens.For("pat-publisher", "publisher"));
        await tab.TestId("signin-token-submit").ClickAsync();

        var denied = tab.TestId("not-allowed");
        await Expect(denied).ToBeVisibleAsync();
        await Expect(denied.GetByRole(Microsoft.Playwright.AriaRole.Heading)).ToHaveTextAsync("Not allowed — this dashboard needs the admin role");
        await Expect(tab.TestId("not-allowed-detail")).ToContainTextAsync("pat-publisher");
        await Expect(tab.TestId("not-allowed-detail")).ToContainTextAsync("publisher");
        await Expect(tab.TestId("compose-form")).ToBeHiddenAsync();
        await Expect(tab.TestId("sent-list")).ToBeHiddenAsync();
        await Expect(tab.TestId("denied-signout")).ToBeFocusedAsync();
        await tab.ScreenshotAsync("dashboard-not-allowed");

        await tab.TestId("denied-signout").ClickAsync();
        await Expect(tab.TestId("signin-form")).ToBeVisibleAsync();
        await Expect(denied).ToBeHiddenAsync();
        session.AssertNoConsoleErrors();
    }

    [Fact(Timeout = 120_000)]
    public async Task Validation_errors_from_the_server_appear_next_to_their_fields()
    {
        await using var session = browser.NewSession();
        var dashboard = await session.DashboardAsync("ops-admin", "dashboard");

        await dashboard.SubmitAsync(new Compose("Not A Valid Type!", "Bad type") { Users = "someone" });

        await Expect(dashboard.TestId("error-type")).ToBeVisibleAsync();
        await Expect(dashboard.TestId("error-type")).Not.ToBeEmptyAsync();
        await Expect(dashboard.TestId("compose-type")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(dashboard.TestId("compose-error")).ToHaveTextAsync("Please fix the highlighted fields.");
        await Expect(dashboard.TestId("error-title")).ToBeHiddenAsync();
        await Expect(dashboard.TestId("compose-result")).ToBeHiddenAsync();
        await dashboard.ScreenshotAsync("dashboard-validation");

        await dashboard.SubmitAsync(new Compose("reminder.past", "Too late") { Users = "someone", ExpiresLocal = "2020-01-01T10:00" });

        await Expect(dashboard.TestId("error-expires")).ToBeVisibleAsync();
        await Expect(dashboard.TestId("error-expires")).Not.ToBeEmptyAsync();
        await Expect(dashboard.TestId("error-type")).ToBeHiddenAsync();
        await Expect(dashboard.TestId("compose-type")).Not.ToHaveAttributeAsync("aria-invalid", "true");

        var id = await dashboard.SendAsync(new Compose("reminder.fixed", "Fixed and sent") { Users = "someone" });

        Assert.True(id > 0);
        await Expect(dashboard.TestId("error-expires")).ToBeHiddenAsync();
        await Expect(dashboard.TestId("compose-error")).ToBeHiddenAsync();
        await Expect(dashboard.SentItem(id)).ToBeVisibleAsync();
        session.AssertNoConsoleErrors((FailedToLoad400, "/api/notifications"));

        // The deliberate 400s were seen by the console hook, so "no console errors" elsewhere is a real check.
        await Timeouts.Eventually(
            () => Task.FromResult(session.Problems.Any(p => p.Text.StartsWith(FailedToLoad400, StringComparison.Ordinal))),
            "the browser logged the deliberate 400");
    }
}
