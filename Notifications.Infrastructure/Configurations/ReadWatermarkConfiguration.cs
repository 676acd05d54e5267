using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Infrastructure.Configurations;

internal sealed class ReadWatermarkConfiguration : IEntityTypeConfiguration<ReadWatermark>
{
    public void Configure(EntityTypeBuilder<ReadWatermark> builder)
    {
        builder.ToTable("ReadWatermarks");
        builder.HasKey(w => w.UserId);
        builder.Property(w => w.UserId).HasMaxLength(NotificationLimits.MaxUserIdLength);
    }
}
