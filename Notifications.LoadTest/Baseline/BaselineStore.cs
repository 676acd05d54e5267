using System.Collections.Concurrent;
using System.Text.Json;

namespace Notifications.LoadTest.Baseline;

/// <summary>The notification shape of the contract, as pushed with ReceiveNotification.</summary>
public sealed record BaselineNotification(
    long Id,
    string Type,
    string Title,
    string? Body,
    JsonElement? Data,
    string Priority,
    string? SenderId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? ReadAt,
    DateTimeOffset? SeenAt,
    DateTimeOffset? ArchivedAt);

public sealed record BaselinePage(IReadOnlyList<BaselineNotification> Items, bool HasMore, long Cursor);

public sealed record BaselineInboxPage(IReadOnlyList<BaselineNotification> Items, bool HasMore, long? NextBefore);

internal sealed record StoredNotification(BaselineNotification Notification, bool Everyone, string[] Users, string[] Roles, string[] Groups)
{
    public bool VisibleTo(string user, string[] roles)
    {
        if (Everyone)
        {
            return true;
        }

        foreach (var u in Users)
        {
            if (string.Equals(u, user, StringComparison.Ordinal))
            {
                return true;
            }
        }

        foreach (var r in Roles)
        {
            if (Array.IndexOf(roles, r) >= 0)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// A deliberately naive in-memory inbox for the baseline (append-only list, linear scans, read-all watermark per
/// user), so inbox/sync/unread scenarios have a floor to compare with. Ids are assigned under the same lock as the
/// append, so the list is ordered by id.
/// </summary>
internal sealed class BaselineStore(bool enabled, int limit)
{
    private readonly List<StoredNotification> _items = [];
    private readonly ConcurrentDictionary<string, long> _readAll = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private long _nextId;

    public bool Enabled => enabled;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    public BaselineNotification Add(Func<long, DateTimeOffset, BaselineNotification> create, bool everyone, string[] users, string[] roles,
        string[] groups)
    {
        lock (_lock)
        {
            var n = create(++_nextId, DateTimeOffset.UtcNow);
            if (enabled)
            {
                if (_items.Count >= limit)
                {
                    _items.RemoveRange(0, Math.Max(1, limit / 10));
                }

                _items.Add(new StoredNotification(n, everyone, users, roles, groups));
            }

            return n;
        }
    }

    public BaselinePage Sync(string user, string[] roles, long after, int limit)
    {
        limit = Math.Clamp(limit <= 0 ? 100 : limit, 1, 1000);
        var items = new List<BaselineNotification>(Math.Min(limit, 64));
        var hasMore = false;
        lock (_lock)
        {
            var start = FirstAfter(after);
            for (var i = start; i < _items.Count; i++)
            {
                var s = _items[i];
                if (!s.VisibleTo(user, roles))
                {
                    continue;
                }

                if (items.Count == limit)
                {
                    hasMore = true;
                    break;
                }

                items.Add(s.Notification);
            }
        }

        return new BaselinePage(items, hasMore, items.Count > 0 ? items[^1].Id : after);
    }

    public BaselineInboxPage Inbox(string user, string[] roles, long? before, int limit, bool unreadOnly)
    {
        limit = Math.Clamp(limit <= 0 ? 20 : limit, 1, 100);
        var watermark = _readAll.GetValueOrDefault(user);
        var items = new List<BaselineNotification>(limit);
        var hasMore = false;
        lock (_lock)
        {
            var end = before is { } b ? FirstAfter(b - 1) : _items.Count;
            for (var i = end - 1; i >= 0; i--)
            {
                var s = _items[i];
                if (unreadOnly && s.Notification.Id <= watermark)
                {
                    break;
                }

                if (!s.VisibleTo(user, roles))
                {
                    continue;
                }

                if (items.Count == limit)
                {
                    hasMore = true;
                    break;
                }

                items.Add(s.Notification);
            }
        }

        return new BaselineInboxPage(items, hasMore, hasMore ? items[^1].Id : null);
    }

    public int UnreadCount(string user, string[] roles)
    {
        var watermark = _readAll.GetValueOrDefault(user);
        var count = 0;
        lock (_lock)
        {
            for (var i = _items.Count - 1; i >= 0; i--)
            {
                var s = _items[i];
                if (s.Notification.Id <= watermark)
                {
                    break;
                }

                if (s.VisibleTo(user, roles))
                {
                    count++;
                }
            }
        }

        return count;
    }

    public void ReadAll(string user)
    {
        long upTo;
        lock (_lock)
        {
            upTo = _nextId;
        }

        _readAll.AddOrUpdate(user, upTo, (_, old) => Math.Max(old, upTo));
    }

    private int FirstAfter(long id)
    {
        // Binary search over the id-ordered list: index of the first item with Id > id.
        int lo = 0, hi = _items.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_items[mid].Notification.Id <= id)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
