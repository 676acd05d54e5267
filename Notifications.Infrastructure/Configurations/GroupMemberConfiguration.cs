using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Infrastructure.Configurations;

internal sealed class GroupMemberConfiguration : IEntityTypeConfiguration<GroupMember>
{
    public void Configure(EntityTypeBuilder<GroupMember> builder)
    {
        builder.ToTable("GroupMembers");
        builder.HasKey(m => new { m.GroupName, m.UserId });
        builder.Property(m => m.GroupName).HasMaxLength(GroupRules.MaxNameLength);
        builder.Property(m => m.UserId).HasMaxLength(NotificationLimits.MaxUserIdLength);

        // Loaded on every connect and every inbox query: "which groups is this user in".
        builder.HasIndex(m => m.UserId);

        // "Who joined these groups after this send was created": asked for a group send pushed after a join was heard,
        // and for a taken-over one, without reading every member of a large group.
        builder.HasIndex(m => new { m.GroupName, m.JoinedAt });
    }
}
