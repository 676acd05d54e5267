using System.Text.Json;
using Notifications.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Notifications.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class InboxTests(BrowserFixture browser)
{
    /// <summary>Lists the elements that stick out of the viewport, and the page's widths, for a clear failure.</summary>
    private const string MeasureOverflow = """
        () => {
          const width = document.documentElement.clientWidth;
          const offenders = [...document.querySelectorAll('body *')]
            .filter((e) => e.getClientRects().length > 0)
            .filter((e) => e.getBoundingClientRect().right > width + 0.5)
            .slice(0, 8)
            .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}[${e.getAttribute('data-testid') || e.className}] right=${Math.round(e.getBoundingClientRect().right)}`);
          return JSON.stringify({ innerWidth: window.innerWidth, clientWidth: width, scrollWidth: document.documentElement.scrollWidth, bodyScrollWidth: document.body.scrollWidth, offenders });
        }
        """;

    [Fact(Timeout = 120_000)]
    public async Task Html_in_a_title_is_shown_as_text_and_never_runs()
    {
        const string title = "<img src=x onerror=alert(1)>";
        const string body = "<script>alert(2)</script><b>not bold</b>";
        var reader = TestUsers.New("inert");
        await browser.MarkAllReadAsync(reader);
        await using var session = browser.NewSession();
        var inbox = await session.InboxAsync(reader, "inbox");
        var dashboard = await session.DashboardAsync("ops-admin", "dashboard");

        var id = await dashboard.SendAsync(new Compose("security.test", title)
        {
            Body = body,
            Data = """{"html": "<img src=y onerror=alert(3)>"}""",
            Users = reader,
        });

        var toast = inbox.Page.Locator($"[data-testid='toast'][data-id='{id}']");
        await Expect(toast).ToContainTextAsync(title);
        await Expect(toast).ToContainTextAsync(body);
        await inbox.TestId("bell").ClickAsync();
        var item = inbox.InboxItem(id);
        await Expect(item.GetByTestId("notification-title")).ToHaveTextAsync(title);
        await Expect(item.GetByTestId("notification-body")).ToHaveTextAsync(body);
        await item.GetByTestId("notification-open").ClickAsync();
        await Expect(item.GetByTestId("notification-data")).ToContainTextAsync("<img src=y onerror=alert(3)>");
        await Expect(dashboard.SentItem(id).GetByTestId("sent-title")).ToHaveTextAsync(title);

        // Had any of it become markup, an <img>, <script> or <b> element would exist (and onerror would open a dialog).
        foreach (var tab in new[] { inbox, dashboard })
        {
            Assert.Equal(0, await tab.Page.Locator("main img, main script, main b, #panel img, #panel script, #panel b, #toasts img, #toasts script, #toasts b").CountAsync()
                .WithTimeout(BrowserFixture.Patience, $"the count of markup elements in tab {tab.Name}"));
        }

        Assert.Empty(session.Dialogs);
        session.AssertNoConsoleErrors();
    }

    [Fact(Timeout = 120_000)]
    public async Task Inbox_and_dashboard_fit_a_phone_screen_without_horizontal_scrolling()
    {
        var reader = $"phone-reader-{Guid.NewGuid():N}"; // a long id, as real ones often are: the top bar must still fit
        await browser.MarkAllReadAsync(reader);
        var id = await browser.SendAsync(new
        {
            type = "deployment.finished.production-eu-west-1",
            title = "Deployment of notifications-api 2026.11.25-rc.4 to production-eu-west-1 finished",
            body = "Details: https://ci.example.com/pipelines/notifications-api/builds/20261125-000000000000000000000000000000/logs",
            priority = "critical",
            audience = new { users = new[] { reader } },
        });
        await using var session = browser.NewSession();
        var inbox = await session.InboxAsync(reader, "phone-inbox", BrowserSession.Phone, phone: true);

        await AssertFitsAsync(inbox, "inbox home");
        await inbox.TestId("bell").ClickAsync();
        await Expect(inbox.InboxItem(id)).ToBeVisibleAsync();
        await AssertFitsAsync(inbox, "inbox panel");
        await inbox.ScreenshotAsync("inbox-phone");

        var dashboard = await session.NewDeviceAsync("phone-dashboard", BrowserSession.Phone, phone: true);
        await dashboard.SignInAsync("/admin/", "ops-admin", "admin");
        await Expect(dashboard.TestId("sent-item").First).ToBeVisibleAsync();
        await AssertFitsAsync(dashboard, "dashboard");
        await dashboard.ScreenshotAsync("dashboard-phone");
        session.AssertNoConsoleErrors();
    }

    private static async Task AssertFitsAsync(BrowserTab tab, string what)
    {
        var json = await tab.EvaluateAsync<string>(MeasureOverflow, $"measuring the {what}");
        using var measured = JsonDocument.Parse(json);
        var root = measured.RootElement;

        // On a phone Chromium widens the layout viewport to fit content that sticks out, so innerWidth counts too.
        var clientWidth = root.GetProperty("clientWidth").GetInt32();
        Assert.True(
            root.GetProperty("innerWidth").GetInt32() == BrowserSession.Phone.Width
                && root.GetProperty("scrollWidth").GetInt32() <= clientWidth
                && root.GetProperty("bodyScrollWidth").GetInt32() <= clientWidth,
            $"The {what} scrolls sideways at {BrowserSession.Phone.Width} px: {json}");
    }
}
