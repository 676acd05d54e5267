using System.Text.RegularExpressions;
using Notifications.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Notifications.Tests.Browser;

/// <summary>
/// The pages in real Chromium against the real service: what one page does shows up live in another page, with no
/// reload. Users are unique per test and start from zero unread, so the tests do not see each other's counts.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class LiveUpdatesTests(BrowserFixture browser)
{
    [Fact(Timeout = 120_000)]
    public async Task Broadcast_from_the_dashboard_shows_a_toast_and_raises_the_badge_in_another_users_inbox()
    {
        var reader = TestUsers.New("reader");
        await browser.MarkAllReadAsync(reader);
        await using var session = browser.NewSession();
        var inbox = await session.InboxAsync(reader, "inbox");
        var dashboard = await session.DashboardAsync("ops-admin", "dashboard");
        await Expect(inbox.TestId("badge")).ToBeHiddenAsync();

        var title = $"Scheduled maintenance {Guid.NewGuid():N}"[..30];
        var id = await dashboard.SendAsync(new Compose("system.maintenance", title)
        {
            Body = "The service will be read-only from 22:00 to 22:30 UTC.",
            Priority = "high",
            Everyone = true,
        });

        var toast = inbox.Page.Locator($"[data-testid='toast'][data-id='{id}']");
        await Expect(toast).ToBeVisibleAsync();
        await Expect(toast).ToContainTextAsync(title);
        await Expect(inbox.TestId("badge")).ToBeVisibleAsync();
        await Expect(inbox.TestId("badge")).ToHaveAttributeAsync("data-count", "1");
        await Expect(inbox.TestId("badge")).ToHaveTextAsync("1");
        await inbox.ScreenshotAsync("inbox-toast");

        // Keyboard only: Enter on the bell opens the panel, Escape closes it and gives focus back to the bell.
        await inbox.TestId("bell").FocusAsync();
        await inbox.Page.Keyboard.PressAsync("Enter");
        await Expect(inbox.TestId("panel")).ToBeVisibleAsync();
        await Expect(inbox.TestId("bell")).ToHaveAttributeAsync("aria-expanded", "true");
        await Expect(inbox.InboxItem(id)).ToHaveAttributeAsync("data-read", "false");
        await inbox.ScreenshotAsync("inbox-panel");
        await inbox.Page.Keyboard.PressAsync("Escape");
        await Expect(inbox.TestId("panel")).ToBeHiddenAsync();
        await Expect(inbox.TestId("bell")).ToBeFocusedAsync();
        await Expect(dashboard.SentItem(id)).ToBeVisibleAsync();
        await dashboard.ScreenshotAsync("dashboard-broadcast");
        session.AssertNoConsoleErrors();
    }

    [Fact(Timeout = 120_000)]
    public async Task Mark_read_in_one_tab_lowers_the_badge_in_the_users_other_tab()
    {
        var reader = TestUsers.New("two-tabs");
        await browser.MarkAllReadAsync(reader);
        var first = await browser.SendAsync(new { type = "invoice.due", title = "Invoice 1001 is due", audience = new { users = new[] { reader } } });
        var second = await browser.SendAsync(new { type = "invoice.due", title = "Invoice 1002 is due", audience = new { users = new[] { reader } } });
        await using var session = browser.NewSession();
        var tabA = await session.InboxAsync(reader, "tab-a");
        var tabB = await session.NewTabAsync(tabA, "tab-b");
        await tabB.SignInAsync("/", reader);
        await Expect(tabA.TestId("badge")).ToHaveAttributeAsync("data-count", "2");
        await Expect(tabB.TestId("badge")).ToHaveAttributeAsync("data-count", "2");

        await tabA.TestId("bell").ClickAsync();
        await tabA.InboxItem(first).GetByTestId("mark-read").ClickAsync();

        await Expect(tabB.TestId("badge")).ToHaveAttributeAsync("data-count", "1");
        await Expect(tabB.TestId("badge")).ToHaveTextAsync("1");
        await Expect(tabB.InboxItem(first)).ToHaveAttributeAsync("data-read", "true");
        await Expect(tabB.InboxItem(second)).ToHaveAttributeAsync("data-read", "false");
        await Expect(tabA.TestId("badge")).ToHaveAttributeAsync("data-count", "1");

        await tabA.TestId("mark-all-read").ClickAsync();
        await Expect(tabB.TestId("badge")).ToBeHiddenAsync();
        await Expect(tabB.TestId("badge")).ToHaveAttributeAsync("data-count", "0");
        await Expect(tabB.InboxItem(second)).ToHaveAttributeAsync("data-read", "true");
        session.AssertNoConsoleErrors();
    }

    [Fact(Timeout = 120_000)]
    public async Task Archive_in_one_tab_takes_the_item_off_the_users_other_tab_and_off_no_other_users_tab()
    {
        var reader = TestUsers.New("archive-tabs");
        var other = TestUsers.New("archive-other");
        await browser.MarkAllReadAsync(reader);
        await browser.MarkAllReadAsync(other);
        // One notification to both users (one row, one id in both inboxes), and one to the reader alone.
        var shared = await browser.SendAsync(TestUsers.Notification("Team offsite moved to Friday", reader, other));
        var kept = await browser.SendAsync(TestUsers.Notification("Invoice 1003 is due", reader));
        await using var session = browser.NewSession();
        var tabA = await session.InboxAsync(reader, "tab-a");
        var tabB = await session.NewTabAsync(tabA, "tab-b");
        await tabB.SignInAsync("/", reader);

        // A third tab of the same browser: first the reader, then, after a sign-out without a reload, the other user.
        var tabC = await session.NewTabAsync(tabA, "tab-c");
        await tabC.SignInAsync("/", reader);
        await tabC.TestId("signout").ClickAsync();
        await tabC.TestId("signin-user").FillAsync(other);
        await tabC.TestId("signin-roles").FillAsync("");
        await tabC.TestId("signin-submit").ClickAsync();
        await Expect(tabC.TestId("user-chip")).ToHaveTextAsync(other);
        await Expect(tabC.TestId("connection-state")).ToHaveAttributeAsync("data-state", "connected");

        foreach (var tab in new[] { tabA, tabB, tabC })
        {
            await tab.TestId("bell").ClickAsync();
            await Expect(tab.InboxItem(shared)).ToHaveCountAsync(1);
        }

        await Expect(tabB.InboxItem(kept)).ToHaveCountAsync(1);
        await Expect(tabB.TestId("badge")).ToHaveAttributeAsync("data-count", "2");

        await tabA.InboxItem(shared).GetByTestId("archive").ClickAsync();

        await Expect(tabA.InboxItem(shared)).ToHaveCountAsync(0);
        await Expect(tabB.InboxItem(shared)).ToHaveCountAsync(0); // polls up to BrowserFixture.Patience
        await Expect(tabB.InboxItem(kept)).ToHaveCountAsync(1);
        // The badge is the server's pushed count, taken off once (by the push, not again by the other tab's word).
        await Expect(tabB.TestId("badge")).ToHaveAttributeAsync("data-count", "1");
        await tabB.EvaluateAsync($"() => new Promise((r) => setTimeout(r, {Timeouts.Absence.TotalMilliseconds}))", "a short wait");
        Assert.Equal("1", await tabB.TestId("badge").GetAttributeAsync("data-count").WithTimeout(BrowserFixture.Patience, "tab B's badge count"));

        // The other user's tab heard nothing: the notification is still in their inbox, and listed.
        await Expect(tabC.InboxItem(shared)).ToHaveCountAsync(1);
        session.AssertNoConsoleErrors();
    }

    [Fact(Timeout = 120_000)]
    public async Task Dashboard_funnel_shows_delivery_and_the_read_without_a_reload()
    {
        var reader = TestUsers.New("funnel");
        await browser.MarkAllReadAsync(reader);
        await using var session = browser.NewSession();
        var inbox = await session.InboxAsync(reader, "inbox");
        var dashboard = await session.DashboardAsync("ops-admin", "dashboard");

        // A marker on the dashboard's window survives only if the page is never reloaded.
        await dashboard.EvaluateAsync("() => { window.sameDocument = true; }", "the same-document marker");
        var id = await dashboard.SendAsync(new Compose("order.shipped", "Your order 1234 shipped")
        {
            Body = "It arrives on Thursday.",
            Data = """{"orderId": 1234, "carrier": "DHL"}""",
            Users = reader,
        });
        var row = dashboard.SentItem(id);
        await Expect(row.GetByTestId("funnel-delivered")).ToHaveTextAsync("1");
        await Expect(row.GetByTestId("funnel-read")).ToHaveTextAsync("0");

        await inbox.TestId("bell").ClickAsync();
        await inbox.InboxItem(id).GetByTestId("notification-open").ClickAsync();
        await Expect(inbox.InboxItem(id)).ToHaveAttributeAsync("data-read", "true");
        await Expect(inbox.InboxItem(id).GetByTestId("notification-data")).ToContainTextAsync("\"orderId\": 1234");

        await Expect(row.GetByTestId("funnel-read")).ToHaveTextAsync("1");
        await Expect(row.GetByTestId("funnel-seen")).ToHaveTextAsync("1");
        await Expect(row).ToHaveAttributeAsync("data-read", "1");
        Assert.True(await dashboard.EvaluateAsync<bool>("() => window.sameDocument === true", "reading the same-document marker"), "The dashboard reloaded to show the read.");

        // The live connection count includes at least this inbox and the dashboard's own connection.
        await Expect(dashboard.TestId("connections-count")).ToHaveAttributeAsync("data-value", AtLeastTwo());
        await dashboard.ScreenshotAsync("dashboard");
        await inbox.ScreenshotAsync("inbox");
        session.AssertNoConsoleErrors();
    }

    [GeneratedRegex(@"^([2-9]|[1-9][0-9]+)$")]
    private static partial Regex AtLeastTwo();
}
