using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Infrastructure.Configurations;

internal sealed class NotificationAudienceConfiguration : IEntityTypeConfiguration<NotificationAudience>
{
    public void Configure(EntityTypeBuilder<NotificationAudience> builder)
    {
        builder.ToTable("NotificationAudience");
        builder.HasKey(a => new { a.NotificationId, a.Kind, a.Value });
        builder.Property(a => a.Kind).HasConversion<byte>();
        builder.Property(a => a.Value).HasMaxLength(NotificationLimits.MaxUserIdLength).IsRequired();

        // Serves "what is addressed to this user / role / group, by id" for inbox, sync and counts.
        builder.HasIndex(a => new { a.Kind, a.Value, a.NotificationId });
    }
}
