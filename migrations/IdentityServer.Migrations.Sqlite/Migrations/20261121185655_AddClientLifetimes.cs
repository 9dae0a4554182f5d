using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IdentityServer.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class AddClientLifetimes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "AccessTokenLifetimeSeconds",
                table: "Clients",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "RefreshTokenLifetimeSeconds",
                table: "Clients",
                type: "INTEGER",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "AccessTokenLifetimeSeconds",
                table: "Clients");

            migrationBuilder.DropColumn(
                name: "RefreshTokenLifetimeSeconds",
                table: "Clients");
        }
    }
}
