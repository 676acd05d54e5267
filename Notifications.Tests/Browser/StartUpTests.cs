using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Notifications.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Notifications.Tests.Browser;

/// <summary>
/// The pages' start-up when its first REST calls fail. Both pages read the newest id of the user's inbox and then let
/// the hub's catch-up start after it; had they connected without it, the catch-up would start at 0 and replay the
/// user's whole history. The page's hub WebSocket is passed through a <see cref="HubSyncRecorder"/>, which writes down
/// where every catch-up started.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class StartUpTests(BrowserFixture browser)
{
    /// <summary>What Chromium itself logs for a 503 response; expected for the deliberately failed calls.</summary>
    private const string FailedToLoad503 = "Failed to load resource: the server responded with a status of 503";

    private const string StoreUnavailable = """{"type":"https://tools.ietf.org/html/rfc9110#section-15.6.4","title":"Store unavailable","status":503}""";

    [Fact(Timeout = 120_000)]
    public async Task An_inbox_whose_first_calls_fail_retries_them_and_catches_up_from_its_newest_id_not_the_whole_history()
    {
        var reader = TestUsers.New("startup");
        await browser.MarkAllReadAsync(reader);
        var ids = new List<long>();
        for (var i = 0; i < 25; i++)
        {
            ids.Add(await browser.SendAsync(TestUsers.Notification($"History {i}", reader)));
        }

        await using var session = browser.NewSession();
        var tab = await session.NewDeviceAsync("inbox");
        var syncs = new HubSyncRecorder();
        await syncs.InstallAsync(tab);
        var failures = new FailFirstCalls(2);
        await tab.Page.RouteAsync(InboxStartUpCall(), failures.HandleAsync);

        await tab.Page.GotoAsync("/");
        await tab.TestId("signin-user").FillAsync(reader);
        await tab.TestId("signin-submit").ClickAsync();
        await tab.TestId("bell").ClickAsync();
        // The failure is shown in the panel while the page retries (two failures: about 1 s, then 2 s).
        await Expect(tab.TestId("panel-status")).ToContainTextAsync("Store unavailable");

        await Expect(tab.TestId("connection-state")).ToHaveAttributeAsync("data-state", "connected");
        await syncs.WaitForAnswersAsync(1, $"the inbox's first catch-up ({syncs})");

        // The catch-up started after the newest notification, and so brought nothing again.
        Assert.True(syncs.Answered[0] == (ids[^1], 0), $"The first catch-up should start after #{ids[^1]} and bring nothing; {syncs}");
        Assert.All(syncs.AfterIds, afterId => Assert.True(afterId >= ids[^1], $"A catch-up replayed history: {syncs}"));
        Assert.Equal(2, failures.Failed);

        // The list is the first page (20, newest first) with more to load: nothing older was listed by a replay.
        await Expect(tab.TestId("panel-status")).ToBeHiddenAsync();
        await Expect(tab.TestId("notification-item")).ToHaveCountAsync(20);
        await Expect(tab.InboxItem(ids[^1])).ToHaveCountAsync(1);
        await Expect(tab.InboxItem(ids[5])).ToHaveCountAsync(1);
        await Expect(tab.InboxItem(ids[4])).ToHaveCountAsync(0);
        await Expect(tab.TestId("load-more")).ToBeVisibleAsync();
        await Expect(tab.TestId("badge")).ToHaveAttributeAsync("data-count", "25");

        // And it is live: a new notification is listed and counted.
        var live = await browser.SendAsync(TestUsers.Notification("After the outage", reader));
        await Expect(tab.InboxItem(live)).ToHaveCountAsync(1);
        await Expect(tab.TestId("badge")).ToHaveAttributeAsync("data-count", "26");
        await Expect(tab.TestId("notification-item")).ToHaveCountAsync(21);
        session.AssertNoConsoleErrors((FailedToLoad503, "/api/notifications"));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_notification_sent_after_the_inbox_read_its_first_page_and_before_it_read_the_newest_id_is_listed()
    {
        var reader = TestUsers.New("startup-gap");
        await browser.MarkAllReadAsync(reader);
        var earlier = await browser.SendAsync(TestUsers.Notification("Earlier", reader));

        await using var session = browser.NewSession();
        var tab = await session.NewDeviceAsync("inbox");
        var syncs = new HubSyncRecorder();
        await syncs.InstallAsync(tab);
        var pageAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sentBetween = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pagesRead = 0;
        // The first page is read by the server; then a notification is sent; then the page gets its answer (without it).
        await tab.Page.RouteAsync(FirstPageCall(), async route =>
        {
            pageAsked.TrySetResult();
            var response = await route.FetchAsync();
            if (Interlocked.Increment(ref pagesRead) == 1)
            {
                sentBetween.SetResult(await browser.SendAsync(TestUsers.Notification("Sent during the start-up", reader)).WithTimeout(what: "the send between the reads"));
            }

            await route.FulfillAsync(new RouteFulfillOptions { Response = response });
        });
        // The newest id: if the page is asked for at the same time, the server reads the newest id after the page and
        // after that send, the order in which the gap opens. A page that asks for the page only once it has the
        // newest id has it read first.
        await tab.Page.RouteAsync(NewestIdCall(), async route =>
        {
            if (await Task.WhenAny(pageAsked.Task, Task.Delay(Timeouts.Absence)) == pageAsked.Task)
            {
                await sentBetween.Task.WithTimeout(BrowserFixture.Patience, "the send between the reads");
            }

            await route.ContinueAsync();
        });

        await tab.SignInAsync("/", reader);
        var sent = await sentBetween.Task.WithTimeout(BrowserFixture.Patience, "the send between the reads");
        await syncs.WaitForAnswersAsync(1, $"the inbox's first catch-up ({syncs})");
        await tab.TestId("bell").ClickAsync();
        await Expect(tab.InboxItem(earlier)).ToHaveCountAsync(1);
        await Expect(tab.InboxItem(sent)).ToHaveCountAsync(1); // from the catch-up: it started below it
        await Expect(tab.TestId("badge")).ToHaveAttributeAsync("data-count", "2");
        Assert.True(syncs.Answered[0].AfterId < sent, $"The first catch-up started above #{sent}; {syncs}");
        session.AssertNoConsoleErrors();
    }

    [Fact(Timeout = 120_000)]
    public async Task A_dashboard_whose_newest_id_call_fails_retries_it_and_catches_up_from_there_not_the_whole_history()
    {
        var admin = TestUsers.New("startup-admin");
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await browser.SendAsync(TestUsers.Notification($"For the admin {i}", admin)));
        }

        await using var session = browser.NewSession();
        var tab = await session.NewDeviceAsync("dashboard");
        var syncs = new HubSyncRecorder();
        await syncs.InstallAsync(tab);
        var failures = new FailFirstCalls(2);
        await tab.Page.RouteAsync(NewestIdCall(), failures.HandleAsync);

        await tab.SignInAsync("/admin/", admin, "admin"); // waits for the live connection
        await Expect(tab.TestId("compose-form")).ToBeVisibleAsync();
        await syncs.WaitForAnswersAsync(1, $"the dashboard's first catch-up ({syncs})");
        Assert.True(syncs.Answered[0] == (ids[^1], 0), $"The first catch-up should start after #{ids[^1]} and bring nothing; {syncs}");
        Assert.All(syncs.AfterIds, afterId => Assert.True(afterId >= ids[^1], $"A catch-up replayed history: {syncs}"));
        Assert.Equal(2, failures.Failed); // the newest id was asked for again after each failure
        session.AssertNoConsoleErrors((FailedToLoad503, "/api/notifications"));
    }

    /// <summary>The inbox's start-up reads: the page and the newest id (GET /api/notifications?…) and the unread count.</summary>
    [GeneratedRegex(@"/api/notifications(\?|/unread-count$)")]
    private static partial Regex InboxStartUpCall();

    /// <summary>The read of the newest id in the user's own inbox (both pages).</summary>
    [GeneratedRegex(@"/api/notifications\?limit=1&")]
    private static partial Regex NewestIdCall();

    /// <summary>The inbox's first page (20, newest first).</summary>
    [GeneratedRegex(@"/api/notifications\?limit=20&")]
    private static partial Regex FirstPageCall();

    /// <summary>Answers the first calls with 503 ProblemDetails, as a store outage does; lets the rest through.</summary>
    private sealed class FailFirstCalls(int count)
    {
        private int left = count;
        private int failed;

        public int Failed => Volatile.Read(ref failed);

        public async Task HandleAsync(IRoute route)
        {
            if (Interlocked.Decrement(ref left) >= 0)
            {
                Interlocked.Increment(ref failed);
                await route.FulfillAsync(new RouteFulfillOptions { Status = 503, ContentType = "application/problem+json", Body = StoreUnavailable });
                return;
            }

            await route.ContinueAsync();
        }
    }
}
