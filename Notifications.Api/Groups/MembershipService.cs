using Microsoft.EntityFrameworkCore;
using Notifications.Api.Inbox;
using Notifications.Domain;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Groups;

/// <summary>Groups and their members. A membership change moves the user's live connections on every instance.</summary>
public sealed class MembershipService(NotificationsDbContext db, IClusterBus bus, TimeProvider time)
{
    public async Task<IReadOnlyList<GroupDto>> ListAsync(Viewer viewer, CancellationToken cancellationToken)
    {
        var userId = viewer.UserId;
        var groups = await db.Groups.AsNoTracking()
            .OrderBy(g => g.Name)
            .Select(g => new { g.Name, g.Kind, g.CreatedAt, IsMember = g.Members.Any(m => m.UserId == userId) })
            .ToListAsync(cancellationToken);
        return groups
            .Where(g => GroupRules.MaySeeGroup(viewer, g.Kind, g.IsMember))
            .Select(g => new GroupDto(g.Name, g.Kind.ToName(), g.IsMember, g.CreatedAt))
            .ToList();
    }

    /// <summary>One group as <see cref="ListAsync"/> shows it; not found when the viewer may not see it.</summary>
    public async Task<GroupDto> FindAsync(Viewer viewer, string name, CancellationToken cancellationToken)
    {
        var userId = viewer.UserId;
        var group = await db.Groups.AsNoTracking()
            .Where(g => g.Name == name)
            .Select(g => new { g.Name, g.Kind, g.CreatedAt, IsMember = g.Members.Any(m => m.UserId == userId) })
            .FirstOrDefaultAsync(cancellationToken);
        return group is not null && GroupRules.MaySeeGroup(viewer, group.Kind, group.IsMember)
            ? new GroupDto(group.Name, group.Kind.ToName(), group.IsMember, group.CreatedAt)
            : throw GroupRules.NotFound(name);
    }

    public async Task<GroupDto> CreateAsync(Viewer viewer, string name, GroupKind kind, CancellationToken cancellationToken)
    {
        if (!viewer.IsAdmin)
        {
            throw new ForbiddenException("Creating groups needs the admin role.");
        }

        if (!GroupRules.IsValidName(name))
        {
            throw new DomainException(GroupRules.NameRule);
        }

        if (await db.Groups.AnyAsync(g => g.Name == name, cancellationToken))
        {
            throw new ConflictException($"A group named '{name}' already exists.");
        }

        var group = new NotificationGroup { Name = name, Kind = kind, CreatedAt = StoredTime.ToWholeMicroseconds(time.GetUtcNow().UtcDateTime), CreatedBy = viewer.UserId };
        db.Groups.Add(group);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (!StoreFailures.IsUnavailable(ex))
        {
            // A lost connection is not a duplicate name: that stays a 503.
            throw new ConflictException($"A group named '{name}' already exists.");
        }

        return new GroupDto(group.Name, kind.ToName(), false, group.CreatedAt);
    }

    /// <summary>Adds the member (idempotent: an existing membership keeps its original join time).</summary>
    public async Task<SubscribeResult> AddMemberAsync(Viewer actor, string groupName, string userId, bool viaSubscribe, CancellationToken cancellationToken)
    {
        var group = await FindForChangeAsync(actor, groupName, cancellationToken);
        GroupRules.EnsureMayChangeMembership(actor, groupName, group.Kind, group.ActorIsMember, userId, viaSubscribe);
        var existing = await db.GroupMembers.AsNoTracking().FirstOrDefaultAsync(m => m.GroupName == group.Name && m.UserId == userId, cancellationToken);
        if (existing is not null)
        {
            return new SubscribeResult(group.Name, existing.JoinedAt);
        }

        // Whole microseconds, like a notification's createdAt: a send in the same microsecond as the join is visible, and
        // the joinedAt answered here is the one stored.
        var member = new GroupMember { GroupName = group.Name, UserId = userId, JoinedAt = StoredTime.ToWholeMicroseconds(time.GetUtcNow().UtcDateTime) };
        db.GroupMembers.Add(member);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (!StoreFailures.IsUnavailable(ex))
        {
            // A concurrent join of the same user won the race; theirs is the membership.
            db.ChangeTracker.Clear();
            member = await db.GroupMembers.AsNoTracking().FirstAsync(m => m.GroupName == group.Name && m.UserId == userId, cancellationToken);
        }

        await bus.PublishAsync(new MembershipChanged(userId, group.Name, Joined: true, member.JoinedAt), cancellationToken);
        return new SubscribeResult(group.Name, member.JoinedAt);
    }

    public async Task RemoveMemberAsync(Viewer actor, string groupName, string userId, CancellationToken cancellationToken)
    {
        var group = await FindForChangeAsync(actor, groupName, cancellationToken);
        GroupRules.EnsureMayChangeMembership(actor, groupName, group.Kind, group.ActorIsMember, userId, viaSubscribe: false);
        await db.GroupMembers.Where(m => m.GroupName == group.Name && m.UserId == userId).ExecuteDeleteAsync(cancellationToken);
        await bus.PublishAsync(new MembershipChanged(userId, group.Name, Joined: false), cancellationToken);
    }

    /// <summary>The user's groups, each with when the user joined it.</summary>
    public async Task<Dictionary<string, DateTime>> GroupsOfAsync(string userId, CancellationToken cancellationToken) =>
        await CompiledReads.For(db).Memberships(db, userId).ToDictionaryAsync(m => m.GroupName, m => m.JoinedAt, StringComparer.Ordinal, cancellationToken);

    // The actor's own membership decides whether they may see a restricted group: read with the group, in one query
    // whether the group is missing, hidden from the actor or visible.
    private async Task<GroupForChange> FindForChangeAsync(Viewer actor, string name, CancellationToken cancellationToken)
    {
        if (!GroupRules.IsValidName(name))
        {
            throw new DomainException(GroupRules.NameRule);
        }

        var actorId = actor.UserId;
        var group = await db.Groups.AsNoTracking()
            .Where(g => g.Name == name)
            .Select(g => new GroupForChange(g.Name, g.Kind, g.Members.Any(m => m.UserId == actorId)))
            .FirstOrDefaultAsync(cancellationToken);
        return group ?? throw GroupRules.NotFound(name);
    }

    private sealed record GroupForChange(string Name, GroupKind Kind, bool ActorIsMember);
}
