using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Infrastructure.Configurations;

internal sealed class NotificationConfiguration : IEntityTypeConfiguration<Notification>
{
    public void Configure(EntityTypeBuilder<Notification> builder)
    {
        builder.ToTable("Notifications");
        builder.HasKey(n => n.Id);
        builder.Property(n => n.Id).ValueGeneratedOnAdd();
        builder.Property(n => n.Type).HasMaxLength(NotificationLimits.MaxTypeLength).IsRequired();
        builder.Property(n => n.Title).HasMaxLength(NotificationLimits.MaxTitleLength).IsRequired();
        builder.Property(n => n.Body).HasMaxLength(NotificationLimits.MaxBodyLength);
        builder.Property(n => n.Data);
        builder.Property(n => n.Priority).HasConversion<byte>();
        builder.Property(n => n.SenderId).HasMaxLength(NotificationLimits.MaxUserIdLength).IsRequired();
        builder.Property(n => n.IdempotencyKey).HasMaxLength(NotificationLimits.MaxIdempotencyKeyLength);
        builder.Property(n => n.RequestHash).HasMaxLength(64);

        builder.HasMany(n => n.Audience).WithOne().HasForeignKey(a => a.NotificationId).OnDelete(DeleteBehavior.Cascade);

        // Broadcasts: inbox and sync pages read "everyone" notifications by id, and the unread count counts the partial
        // block its watermark falls in (see BroadcastBucket). The liveness columns make it covering: neither reads the table.
        builder.HasIndex(n => new { n.Everyone, n.Id, n.RetractedAt, n.ExpiresAt });

        // The unread count takes retracted broadcasts off the bucket sums (see BroadcastBucket): these are few, and
        // this finds them without reading every broadcast.
        builder.HasIndex(n => new { n.Everyone, n.RetractedAt });
        builder.HasIndex(n => new { n.SenderId, n.IdempotencyKey }).IsUnique();
        builder.HasIndex(n => n.CreatedAt);
        builder.HasIndex(n => n.ExpiresAt);
    }
}
